"""Holds: a released bag taken out of use until QA lifts the hold with a reason.

A serious adverse event linked to a lot holds every other unused bag of that lot at once; a
clinician who finds a bag unusable holds it instead of discarding it (only the processing side
destroys cells). A held bag cannot be handed over, thawed, verified at the bedside or given:
every such step locks the dose row and re-reads its status, so a hold that commits first wins.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, ValidationFailed
from saisei.core.models import Role, User
from saisei.core.services import notify
from saisei.processing import permissions
from saisei.processing.lifecycles import DOSE, DOSE_USABLE
from saisei.processing.models import Dose, DoseHold, Lot

from .common import require, require_same_org, staff


def _reason(reason: str, field: str = "reason") -> str:
    text = str(reason or "").strip()
    if not text:
        raise ValidationFailed(
            "reason_required", _("Give a reason."), {field: [_("A reason is required.")]}
        )
    return text


def _place(
    *,
    actor: User,
    dose: Dose,
    kind: str,
    reason: str,
    source_ref: str = "",
    source_link: str = "",
) -> DoseHold:
    """Hold one locked dose (the caller locked it with select_for_update)."""
    previous = dose.status
    DOSE.check(dose, "place_on_hold", ctx={"reason": reason})
    hold = DoseHold.objects.create(
        organisation_id=dose.organisation_id,
        dose=dose,
        kind=kind,
        reason=reason,
        source_ref=source_ref[:100],
        source_link=source_link[:200],
        previous_status=previous,
        placed_by=actor,
        placed_at=timezone.now(),
    )
    dose.status = Dose.Status.ON_HOLD
    dose.status_reason = reason
    dose.save(update_fields=["status", "status_reason", "updated_at"])
    audit_record(
        actor=actor,
        organisation=dose.organisation,
        action="dose.hold",
        subject=dose,
        changes={"from": previous, "kind": kind, "source": source_ref},
        reason=reason,
    )
    return hold


def end_active_hold(*, actor: User | None, dose: Dose, reason: str) -> None:
    """Close the active hold of a dose that is being discarded or recalled instead."""
    DoseHold.objects.filter(dose=dose, lifted_at__isnull=True).update(
        lifted_at=timezone.now(),
        lifted_by=actor,
        lift_reason=str(reason)[:1000] or "closed",
        updated_at=timezone.now(),
    )


def doses_hold_for_adverse_event(
    *,
    actor: User,
    lot: Lot,
    reason: str,
    source_ref: str,
    source_link: str = "",
    exclude_dose_id: int | None = None,
) -> list[DoseHold]:
    """Hold every other unused dose of the lot at once (a serious adverse event was linked to it).

    Called by the safety service inside the event's own transaction, after it checked that the
    actor may record events; the hold is its consequence, so it never refuses the event.
    """
    require_same_org(actor, lot)
    with transaction.atomic():
        doses = (
            Dose.objects.select_for_update()
            .filter(lot=lot, status__in=DOSE_USABLE, voided_at__isnull=True)
            .order_by("pk")
        )
        if exclude_dose_id is not None:
            doses = doses.exclude(pk=exclude_dose_id)
        holds = [
            _place(
                actor=actor,
                dose=dose,
                kind=DoseHold.Kind.ADVERSE_EVENT,
                reason=_reason(reason),
                source_ref=source_ref,
                source_link=source_link,
            )
            for dose in doses
        ]
        if holds:
            notify(
                users=staff(
                    organisation=lot.organisation, roles=(Role.QA_MANAGER, Role.CPC_TECHNICIAN)
                ),
                subject=_(
                    "%(count)d dose(s) of lot %(lot)s are on hold after %(event)s; QA decides "
                    "whether they may be used."
                )
                % {"count": len(holds), "lot": lot.number, "event": source_ref},
                link=f"/processing/lots/{lot.external_id}/",
                level="danger",
                dedupe_key=f"lot_hold:{lot.external_id}:{source_ref}",
            )
    return holds


def dose_report_unusable(*, actor: User, dose: Dose, reason: str) -> DoseHold:
    """A clinician (or the CPC) takes a bag out of use at once; QA decides what happens next."""
    require(permissions.can_report_dose_unusable(actor))
    require_same_org(actor, dose)
    text = _reason(reason)
    with transaction.atomic():
        dose = Dose.objects.select_for_update().select_related("lot").get(pk=dose.pk)
        hold = _place(actor=actor, dose=dose, kind=DoseHold.Kind.UNUSABLE, reason=text)
        notify(
            users=staff(organisation=dose.organisation, roles=(Role.QA_MANAGER,)),
            subject=_("Dose %(dose)s was reported unusable by %(who)s: %(reason)s")
            % {"dose": f"{dose.din} {dose.product_code}", "who": actor, "reason": text},
            link=f"/processing/doses/{dose.external_id}/",
            level="warn",
            dedupe_key=f"dose_hold:{hold.external_id}",
        )
    return hold


def dose_hold_lift(*, actor: User, dose: Dose, reason: str) -> Dose:
    """QA lifts a hold with a reason; the bag returns to the status it had when held."""
    require(permissions.can_lift_dose_hold(actor))
    require_same_org(actor, dose)
    text = _reason(reason)
    with transaction.atomic():
        dose = Dose.objects.select_for_update().select_related("lot").get(pk=dose.pk)
        hold = DoseHold.objects.filter(dose=dose, lifted_at__isnull=True).first()
        if hold is None or dose.status != Dose.Status.ON_HOLD:
            raise Conflict("dose_not_on_hold", _("This dose is not on hold."))
        DOSE.check(
            dose,
            "lift_hold",
            ctx={"reason": text, "previous_status": hold.previous_status},
        )
        now = timezone.now()
        hold.lifted_at, hold.lifted_by, hold.lift_reason = now, actor, text
        hold.save(update_fields=["lifted_at", "lifted_by", "lift_reason", "updated_at"])
        dose.status = hold.previous_status
        dose.status_reason = ""
        dose.save(update_fields=["status", "status_reason", "updated_at"])
        audit_record(
            actor=actor,
            organisation=dose.organisation,
            action="dose.hold_lift",
            subject=dose,
            changes={"to": dose.status, "hold": hold.kind, "source": hold.source_ref},
            reason=text,
        )
    return dose


def active_holds(*, doses: list[Any]) -> dict[int, DoseHold]:
    """The active hold of each dose in the list (one query)."""
    rows = DoseHold.objects.filter(
        dose_id__in=[d.pk for d in doses], lifted_at__isnull=True
    ).select_related("placed_by")
    return {h.dose_id: h for h in rows}
