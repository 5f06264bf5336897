"""Background tasks for the regulatory app; they only call services."""

from __future__ import annotations

from django_tasks import task

from saisei.regulatory.services import obligation_reminders_send, obligations_refresh_all


@task()
def refresh_obligations() -> int:
    """Daily: add periodic-report obligations for periods that have started."""
    return obligations_refresh_all()


@task()
def send_obligation_reminders() -> int:
    """Daily: remind compliance staff of deadlines at the configured lead times, and of overdue ones."""
    obligations_refresh_all()
    return obligation_reminders_send()
