"""Deviations: opened by hand or automatically, investigated, and closed by QA."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, ValidationFailed
from saisei.core.models import Organisation, Role, User
from saisei.core.services import notify
from saisei.processing import permissions
from saisei.processing.lifecycles import DEVIATION, DEVIATION_MOVE_TO
from saisei.processing.models import Deviation, Donation, Lot

from .common import next_number, require, require_same_org, staff


def deviation_open(
    *,
    actor: User | None,
    title: str,
    source: str,
    organisation: Organisation | None = None,
    lot: Lot | None = None,
    donation: Donation | None = None,
    description: str = "",
    severity: str = Deviation.Severity.MAJOR,
) -> Deviation:
    """Open a deviation (by hand, or automatically from an OOS result or an action-limit breach)."""
    if actor is not None and organisation is None:
        require(permissions.can_manage_deviation(actor))
    org = organisation or (lot.organisation if lot else getattr(actor, "organisation", None))
    if org is None:
        raise ValidationFailed(
            "organisation_required", _("The deviation needs an organisation."), {}
        )
    if not str(title).strip():
        raise ValidationFailed(
            "title_required", _("Give the deviation a title."), {"title": [_("Required.")]}
        )
    if source not in Deviation.Source.values or severity not in Deviation.Severity.values:
        raise ValidationFailed("deviation_kind", _("Unknown source or severity."), {})
    now = timezone.now()
    with transaction.atomic():
        number = next_number(key=f"DEV:{org.pk}", year=timezone.localtime(now).year)
        deviation = Deviation.objects.create(
            organisation=org,
            number=f"DEV-{timezone.localtime(now).year}-{number:04d}",
            lot=lot,
            donation=donation or (lot.donation if lot is not None else None),
            source=source,
            severity=severity,
            title=str(title)[:300],
            description=str(description),
            opened_at=now,
            opened_by=actor,
        )
        audit_record(
            actor=actor,
            organisation=org,
            action="deviation.open",
            subject=deviation,
            changes={
                "number": deviation.number,
                "source": source,
                "lot": lot.number if lot else None,
                "donation": deviation.donation.din if deviation.donation else None,
            },
        )
        notify(
            users=staff(organisation=org, roles=(Role.QA_MANAGER,)),
            subject=_("Deviation %(number)s opened: %(title)s")
            % {"number": deviation.number, "title": deviation.title},
            level="warn",
            link=f"/processing/deviations/{deviation.external_id}/",
            dedupe_key=f"deviation:{deviation.external_id}",
        )
    return deviation


def deviation_update(
    *,
    actor: User,
    deviation: Deviation,
    investigation: str | None = None,
    impact: str | None = None,
    capa: str | None = None,
    status: str | None = None,
) -> Deviation:
    """Document investigation, impact and CAPA; only QA closes, and only when all three exist."""
    require(permissions.can_manage_deviation(actor))
    require_same_org(actor, deviation)
    with transaction.atomic():
        deviation = Deviation.objects.select_for_update().get(pk=deviation.pk)
        if deviation.status == Deviation.Status.CLOSED:
            raise Conflict("deviation_closed", _("The deviation is closed."), {})
        before = {"status": deviation.status}
        for name, value in (("investigation", investigation), ("impact", impact), ("capa", capa)):
            if value is not None:
                setattr(deviation, name, value.strip())
        if status and status != deviation.status:
            DEVIATION.check(deviation, DEVIATION_MOVE_TO.get(status, status), actor=actor)
            if status == Deviation.Status.CLOSED:
                deviation.closed_at = timezone.now()
                deviation.closed_by = actor
            deviation.status = status
        deviation.save()
        audit_record(
            actor=actor,
            organisation=deviation.organisation,
            action="deviation.update",
            subject=deviation,
            changes={"before": before, "status": deviation.status},
        )
    return deviation
