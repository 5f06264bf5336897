"""Writes about the records themselves: disposal at the end of retention, and handover archives.

Who: organisation administrators and compliance officers (``can_manage_records``). Every write
goes through the audit ledger, and ``audit_record`` runs the retention guard, so a disposal
before the period ends is refused here as on every other path.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Forbidden, NotFound, ValidationFailed
from saisei.core.models import ClinicalRecord, HandoverArchive, Role, User
from saisei.core.permissions import is_staff_user


def can_manage_records(user: User) -> bool:
    return is_staff_user(user) and user.has_role(Role.ORG_ADMIN, Role.COMPLIANCE_OFFICER)


def can_archive(user: User) -> bool:
    return is_staff_user(user) and user.has_role(Role.ORG_ADMIN)


def record_get(*, actor: User, model: str, external_id: str) -> ClinicalRecord:
    """One record of the actor's organisation by class label and external id (404 otherwise)."""
    try:
        cls = apps.get_model(model)
        ident = uuid.UUID(str(external_id))
    except (LookupError, ValueError) as exc:
        raise NotFound() from exc
    if not issubclass(cls, ClinicalRecord):
        raise NotFound()
    obj = cls._default_manager.filter(
        organisation_id=actor.organisation_id, external_id=ident
    ).first()
    if obj is None:
        raise NotFound()
    return obj


def record_dispose(*, actor: User, record: ClinicalRecord, reason: str) -> ClinicalRecord:
    """Withdraw a record at the end of its retention period (a void as disposal, with a reason).

    The retention guard in ``audit_record`` refuses it while the period runs (409
    ``retention_period_running``) and for a class with no retention row (409
    ``retention_unknown``). The row is never deleted (ClinicalRecord).
    """
    if not can_manage_records(actor):
        raise Forbidden()
    if record.organisation_id != actor.organisation_id:
        raise NotFound()
    if not reason.strip():
        raise ValidationFailed(
            "reason_required", _("Give the reason."), {"reason": [_("Give the reason.")]}
        )
    with transaction.atomic():
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action=f"{record._meta.model_name}.retention_void",
            subject=record,
            reason=reason.strip(),
        )
        record.voided_at = timezone.now()
        record.voided_by = actor
        record.void_reason = reason.strip()
        record.save(update_fields=["voided_at", "voided_by", "void_reason", "updated_at"])
    return record


def archive_dir() -> Path:
    return Path(settings.DATA_DIR) / "archives"


def archive_path(archive: HandoverArchive) -> Path:
    return archive_dir() / archive.file_name


def archive_start(*, actor: User, reason: str) -> HandoverArchive:
    """Queue a handover archive of the actor's organisation (the worker writes it)."""
    from saisei.core.tasks import write_handover_archive

    if not can_archive(actor):
        raise Forbidden()
    if not reason.strip():
        raise ValidationFailed(
            "reason_required",
            _("Say why the archive is made (closure, handover)."),
            {"reason": [_("Give the reason.")]},
        )
    with transaction.atomic():
        archive = HandoverArchive.objects.create(
            organisation=actor.organisation,  # type: ignore[misc]
            requested_by=actor,
            reason=reason.strip(),
        )
        archive.file_name = f"handover-{archive.external_id}.zip"
        archive.save(update_fields=["file_name"])
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action="archive.start",
            subject=archive,
            changes={"reason": archive.reason},
        )
        transaction.on_commit(lambda: write_handover_archive.enqueue(archive_id=archive.pk))
    return archive


def archive_run(*, archive_id: int) -> str:
    """Write a queued archive (worker). A failure is recorded on the row, never half a file."""
    from saisei.core.archive import archive_write

    archive = HandoverArchive.objects.select_related("organisation").get(pk=archive_id)
    if archive.status != HandoverArchive.Status.QUEUED:
        return archive.status
    HandoverArchive.objects.filter(pk=archive.pk).update(status=HandoverArchive.Status.RUNNING)
    try:
        manifest: dict[str, Any] = archive_write(
            organisation=archive.organisation, path=archive_path(archive)
        )
    except Exception as exc:  # noqa: BLE001 - recorded on the row for the org_admin to see
        HandoverArchive.objects.filter(pk=archive.pk).update(
            status=HandoverArchive.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        return HandoverArchive.Status.FAILED
    with transaction.atomic():
        HandoverArchive.objects.filter(pk=archive.pk).update(
            status=HandoverArchive.Status.COMPLETED,
            sha256=manifest["archive_sha256"],
            files=len(manifest["files"]),
            finished_at=timezone.now(),
        )
        audit_record(
            actor=None,
            organisation=archive.organisation,
            action="archive.complete",
            subject=archive,
            changes={"sha256": manifest["archive_sha256"], "files": len(manifest["files"])},
        )
    return HandoverArchive.Status.COMPLETED
