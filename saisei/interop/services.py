"""Writes of the interop app: start, run and cancel a bulk export (each step on the ledger)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, Forbidden
from saisei.core.models import User
from saisei.core.permissions import org_id_of
from saisei.interop import permissions
from saisei.interop.fhir import bulk
from saisei.interop.models import BulkExport

logger = logging.getLogger(__name__)
FINISHED = (BulkExport.Status.COMPLETED, BulkExport.Status.FAILED, BulkExport.Status.CANCELLED)


def _patients(export: BulkExport, actor: User) -> QuerySet | None:
    """The patients a patient- or group-level export is limited to (None: no limit)."""
    from saisei.journey import selectors as journey_selectors

    if export.level == BulkExport.Level.GROUP:
        return (
            journey_selectors.course_list(actor=actor)
            .filter(plan_id=export.plan_id)
            .values("patient_id")
        )
    return None


def export_start(
    *,
    actor: User,
    level: str,
    types: list[str],
    since: dt.datetime | None,
    request_url: str,
    plan: Any = None,
) -> BulkExport:
    """Record the export and queue it for the worker once the record is committed."""
    from saisei.interop.tasks import run_bulk_export

    if not permissions.can_bulk_export(actor):
        raise Forbidden()
    with transaction.atomic():
        export = BulkExport.objects.create(
            organisation_id=org_id_of(actor),
            requested_by=actor,
            level=level,
            plan=plan,
            types=types,
            since=since,
            request_url=request_url[:2000],
        )
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action="bulk_export.start",
            subject=export,
            changes={
                "level": level,
                "types": types,
                "since": since.isoformat() if since else None,
                "plan": plan.plan_number if plan is not None else None,
            },
        )
        transaction.on_commit(lambda: run_bulk_export.enqueue(export_id=export.pk))
    return export


def _progress(export_id: int) -> Any:
    def report(written: int) -> None:
        moved = BulkExport.objects.filter(pk=export_id, status=BulkExport.Status.RUNNING).update(
            written=written
        )
        if not moved:
            raise bulk.Cancelled()

    return report


def export_run(*, export_id: int) -> str:
    """Write the files of a queued export; a cancelled or finished export is left alone."""
    now = timezone.now()
    claimed = BulkExport.objects.filter(pk=export_id, status=BulkExport.Status.QUEUED).update(
        status=BulkExport.Status.RUNNING, transaction_time=now
    )
    if not claimed:
        return "not queued"
    export = BulkExport.objects.select_related("requested_by", "organisation").get(pk=export_id)
    actor = export.requested_by
    if not permissions.can_bulk_export(actor) or actor.organisation_id != export.organisation_id:
        # The requester lost the right to export since asking: nothing is written.
        return _finish(
            export, BulkExport.Status.FAILED, error=_("The requester may no longer export.")
        )
    patients = _patients(export, actor)
    directory = bulk.export_dir(export.external_id)
    try:
        expected = bulk.expected_count(
            actor=actor, types=export.types, patients=patients, since=export.since
        )
        BulkExport.objects.filter(pk=export_id).update(expected=expected)
        output = bulk.write(
            actor=actor,
            directory=directory,
            types=export.types,
            patients=patients,
            since=export.since,
            on_progress=_progress(export_id),
        )
    except bulk.Cancelled:
        bulk.remove_files(export.external_id)
        return "cancelled"
    except Exception:
        logger.exception("Bulk export %s failed", export.external_id)
        bulk.remove_files(export.external_id)
        return _finish(
            export, BulkExport.Status.FAILED, error=_("The export failed; the error was logged.")
        )
    return _finish(export, BulkExport.Status.COMPLETED, output=output)


def _finish(
    export: BulkExport, status: str, *, output: list[dict[str, Any]] | None = None, error: str = ""
) -> str:
    with transaction.atomic():
        done = BulkExport.objects.filter(pk=export.pk, status=BulkExport.Status.RUNNING).update(
            status=status,
            output=output or [],
            error=str(error),
            finished_at=timezone.now(),
            written=sum(o["count"] for o in output or []),
        )
        if not done:
            bulk.remove_files(export.external_id)
            return "cancelled"
        audit_record(
            actor=export.requested_by,
            organisation=export.organisation,
            action=f"bulk_export.{status}",
            subject=export,
            changes={
                "files": [f"{o['type']} {o['count']}" for o in output or []],
                "error": str(error),
            },
        )
    return str(status)


def export_cancel(*, actor: User, export: BulkExport) -> BulkExport:
    """Cancel a queued or running export, or delete a finished one's files (IG: DELETE)."""
    if not permissions.can_bulk_export(actor) or export.organisation_id != actor.organisation_id:
        raise Forbidden()
    with transaction.atomic():
        locked = BulkExport.objects.select_for_update().get(pk=export.pk)
        if locked.status == BulkExport.Status.CANCELLED:
            raise Conflict("export_cancelled", _("This export was already cancelled."))
        previous = locked.status
        locked.status = BulkExport.Status.CANCELLED
        locked.finished_at = locked.finished_at or timezone.now()
        locked.output = []
        locked.save(update_fields=["status", "finished_at", "output", "updated_at"])
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action="bulk_export.cancel",
            subject=locked,
            changes={"previous_status": previous},
        )
        transaction.on_commit(lambda: bulk.remove_files(locked.external_id))
    return locked
