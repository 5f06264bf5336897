"""The culture record: steps with their counts, and a sterility culture positive after release."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, ValidationFailed
from saisei.core.models import Role, User
from saisei.core.services import notify
from saisei.processing import permissions
from saisei.processing.models import CultureAlert, CultureStep, Deviation, Dose, Lot

from .common import aware, require, require_same_org, staff
from .deviation import deviation_open
from .lot import _block_doses, _due, _forecast, _move_lot


def _number_or_none(
    value: Any, *, field: str, low: float = 0, high: float | None = None
) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(
            "invalid_number", _("Enter a number."), {field: [_("Enter a number.")]}
        ) from None
    if number < low or (high is not None and number > high):
        raise ValidationFailed(
            "out_of_range", _("A value is out of range."), {field: [_("Out of range.")]}
        )
    return number


def culture_step_record(
    *,
    actor: User,
    lot: Lot,
    kind: str,
    performed_at: dt.datetime | None = None,
    passage_number: int = 0,
    cell_count: float | None = None,
    viability_pct: float | None = None,
    population_doublings: float | None = None,
    vessel_type: str = "",
    vessel_count: int = 0,
    area_cm2: float | None = None,
    media_lot: str = "",
    reagent_lots: str = "",
    notes: str = "",
) -> CultureStep:
    """Add a step to the culture record and re-forecast the harvest day from actual counts."""
    require(permissions.can_record_culture(actor))
    require_same_org(actor, lot)
    if kind not in CultureStep.Kind.values:
        raise ValidationFailed(
            "step_kind", _("Unknown culture step."), {"kind": [_("Unknown step.")]}
        )
    at = aware(performed_at, field="performed_at")
    count = _number_or_none(cell_count, field="cell_count")
    viability = _number_or_none(viability_pct, field="viability_pct", high=100)
    doublings = _number_or_none(population_doublings, field="population_doublings", high=100)
    area = _number_or_none(area_cm2, field="area_cm2")
    if kind in (CultureStep.Kind.PASSAGE, CultureStep.Kind.HARVEST) and count is None:
        raise ValidationFailed(
            "count_required",
            _("A passage or harvest needs the viable cell count."),
            {"cell_count": [_("Required.")]},
        )
    with transaction.atomic():
        lot = Lot.objects.select_for_update().get(pk=lot.pk)
        if lot.status != Lot.Status.IN_CULTURE:
            raise Conflict(
                "lot_not_in_culture", _("The culture record is closed for this lot."), {}
            )
        step = CultureStep.objects.create(
            organisation=lot.organisation,
            lot=lot,
            kind=kind,
            performed_at=at,
            performed_by=actor,
            passage_number=int(passage_number or 0),
            cell_count=count,
            viability_pct=viability,
            population_doublings=doublings,
            vessel_type=vessel_type.strip(),
            vessel_count=int(vessel_count or 0),
            area_cm2=area,
            media_lot=media_lot.strip(),
            reagent_lots=reagent_lots.strip(),
            notes=notes,
        )
        if count is not None:
            lot.forecast = _forecast(lot, lot.donation)
            lot.due_on = _due(lot.forecast) or lot.due_on
            lot.save(update_fields=["forecast", "due_on", "updated_at"])
        audit_record(
            actor=actor,
            organisation=lot.organisation,
            action="culture_step.record",
            subject=step,
            changes={
                "lot": lot.number,
                "kind": kind,
                "passage": step.passage_number,
                "cell_count": count,
                "viability_pct": viability,
            },
        )
    return step


def _culture_positive(*, actor: User, lot: Lot, organism: str) -> CultureAlert:
    """Positive culture after release: alert physicians, block every dose, list doses given."""
    deviation = deviation_open(
        actor=actor,
        organisation=lot.organisation,
        lot=lot,
        source=Deviation.Source.POSITIVE_CULTURE,
        severity=Deviation.Severity.CRITICAL,
        title=_("Sterility culture positive after release: lot %(lot)s") % {"lot": lot.number},
        description=organism,
    )
    reason = _("Sterility culture positive after release")
    _move_lot(lot, "reject", reason=str(reason))
    blocked = _block_doses(actor=actor, lot=lot, status="recalled", reason=str(reason))
    given = [
        {
            "dose": str(d.external_id),
            "product_code": d.product_code,
            "administered_at": d.administered_at.isoformat() if d.administered_at else None,
            "administration_ref": d.administration_ref,
        }
        for d in lot.doses.filter(status=Dose.Status.ADMINISTERED)
    ]
    physicians = staff(organisation=lot.organisation, roles=(Role.PHYSICIAN, Role.QA_MANAGER))
    alert = CultureAlert.objects.create(
        organisation=lot.organisation,
        lot=lot,
        reported_at=timezone.now(),
        reported_by=actor,
        organism=organism[:200],
        deviation=deviation,
        physicians_notified=[u.username for u in physicians],
        doses_blocked=[str(d.external_id) for d in blocked],
        doses_given=given,
    )
    notify(
        users=physicians,
        subject=_(
            "URGENT: sterility culture of lot %(lot)s turned positive after release. "
            "Do not use any dose; %(given)s dose(s) already given need follow-up."
        )
        % {"lot": lot.number, "given": len(given)},
        body=organism,
        level="danger",
        link=f"/processing/lots/{lot.external_id}/",
        dedupe_key=f"culture_alert:{alert.external_id}",
    )
    audit_record(
        actor=actor,
        organisation=lot.organisation,
        action="lot.culture_positive",
        subject=alert,
        changes={"lot": lot.number, "blocked": len(blocked), "given": given},
    )
    return alert


def culture_alert_follow_up(*, actor: User, alert: CultureAlert, follow_up: str) -> CultureAlert:
    """Record what happened to the doses already given (patients contacted, treatment, outcome)."""
    require(permissions.can_follow_up_culture_alert(actor))
    require_same_org(actor, alert)
    if not follow_up.strip():
        raise ValidationFailed(
            "follow_up_required", _("Describe the follow-up."), {"follow_up": [_("Required.")]}
        )
    with transaction.atomic():
        alert.follow_up = follow_up.strip()
        alert.save(update_fields=["follow_up", "updated_at"])
        audit_record(
            actor=actor,
            organisation=alert.organisation,
            action="culture_alert.follow_up",
            subject=alert,
            changes={"follow_up": alert.follow_up},
        )
    return alert
