"""Background tasks for interop; they only call services."""

from __future__ import annotations

from django_tasks import task

from saisei.interop import services


@task()
def run_bulk_export(*, export_id: int) -> str:
    """Write a queued bulk export's files (``saisei worker`` runs it)."""
    return services.export_run(export_id=export_id)
