"""The processing facility's licence register, its changes and their notices (ASRM Ch. IV).

The register is the one source of the facility's authorisation: the compliance gate, the
facility's yearly-report obligations and every page read these records. A renewal is a new
record naming the one it renews; an early end (revocation, withdrawal) is recorded on the record,
never by deleting it.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Forbidden, NotFound, ValidationFailed
from saisei.core.models import User
from saisei.regulatory import config, permissions
from saisei.regulatory.models import (
    AuthorisationKind,
    FacilityAuthorisation,
    FacilityChange,
    FacilityChangeKind,
    Obligation,
    ProcessingFacility,
    today_tokyo,
)
from saisei.regulatory.rules import facility_change_notice_due, licence_renewal_due
from saisei.regulatory.services.obligations import (
    _record_created,
    _upsert,
    facility_obligations_refresh,
    obligation_mark_done,
)


def _require(actor: User, facility: ProcessingFacility) -> None:
    if facility.organisation_id != actor.organisation_id:
        raise NotFound()
    if not permissions.can_manage_facility_register(actor):
        raise Forbidden()


def _fresh(facility: ProcessingFacility) -> ProcessingFacility:
    """The facility with its register reloaded (a prefetched register would be stale)."""
    cache = getattr(facility, "_prefetched_objects_cache", None)
    if cache:
        cache.pop("authorisations", None)
    return facility


def _invalid(code: str, field: str, message: str) -> ValidationFailed:
    return ValidationFailed(code, message, {field: [message]})


def _renewal_obligation(
    *, actor: User, facility: ProcessingFacility, record: FacilityAuthorisation
) -> None:
    """A licence or accreditation with an expiry gets its renewal reminder (⚠ lead configurable)."""
    if record.kind == AuthorisationKind.NOTIFIED or record.valid_until is None:
        return
    due = licence_renewal_due(valid_until=record.valid_until, config=config.deadline_config())
    obligation, is_new = _upsert(
        plan=None,
        facility=facility,
        rule_id=due.rule,
        recipient=due.recipient.value,
        due_date=due.due_date,
        source=due.source,
        subject=("regulatory.facility_authorisation", str(record.external_id)),
        trigger_date=record.valid_from,
    )
    _record_created(
        actor=actor,
        plan=facility,
        created=[obligation] if is_new else [],
        cause="licence_renewal",
    )


def facility_authorisation_record(
    *,
    actor: User,
    facility: ProcessingFacility,
    kind: str,
    number: str,
    scope: str,
    valid_from: dt.date,
    valid_until: dt.date | None = None,
    renews: FacilityAuthorisation | None = None,
) -> FacilityAuthorisation:
    """Enter a licence (Art. 35), accreditation (Art. 39) or notification (Art. 40) in the
    facility's register, or its renewal (Art. 36) when ``renews`` names the record it follows."""
    _require(actor, facility)
    _check_authorisation(
        facility=facility,
        kind=kind,
        number=number,
        scope=scope,
        valid_from=valid_from,
        valid_until=valid_until,
        renews=renews,
    )
    record = FacilityAuthorisation(
        organisation_id=facility.organisation_id,
        facility=facility,
        kind=kind,
        number=number.strip(),
        scope=scope.strip(),
        valid_from=valid_from,
        valid_until=valid_until,
        renews=renews,
    )
    with transaction.atomic():
        record.save()
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action="facility_authorisation.renew" if renews else "facility_authorisation.record",
            subject=record,
            changes={
                "facility": str(facility.external_id),
                "kind": kind,
                "number": record.number,
                "valid_from": valid_from,
                "valid_until": valid_until,
                "renews": str(renews.external_id) if renews else None,
            },
        )
        _renewal_obligation(actor=actor, facility=facility, record=record)
        if renews is not None:
            _close_renewal_obligation(actor=actor, renews=renews, record=record)
        facility_obligations_refresh(actor=actor, facility=_fresh(facility))
    return record


def _check_authorisation(
    *,
    facility: ProcessingFacility,
    kind: str,
    number: str,
    scope: str,
    valid_from: dt.date,
    valid_until: dt.date | None,
    renews: FacilityAuthorisation | None,
) -> None:
    """A known type with its number and scope, an expiry unless notified, a period in order,
    and a renewal of this facility's live record that starts after it."""
    if kind not in AuthorisationKind.values:
        raise _invalid("facility_authorisation.kind", "kind", _("Unknown authorisation type."))
    if not number.strip():
        raise _invalid(
            "facility_authorisation.number_required",
            "number",
            _("Enter the licence or notification number."),
        )
    if not scope.strip():
        raise _invalid(
            "facility_authorisation.scope_required",
            "scope",
            _("Enter the cell products and processes it covers."),
        )
    if kind != AuthorisationKind.NOTIFIED and valid_until is None:
        raise _invalid(
            "facility_authorisation.expiry_required",
            "valid_until",
            _("A licence or accreditation has an expiry date; enter it."),
        )
    if valid_until is not None and valid_until < valid_from:
        raise _invalid(
            "facility.validity",
            "valid_until",
            _("The authorisation cannot end before it starts."),
        )
    if renews is not None:
        if renews.facility_id != facility.pk or renews.voided_at is not None:
            raise NotFound()
        if valid_from <= renews.valid_from:
            raise _invalid(
                "facility_authorisation.renewal_order",
                "valid_from",
                _("A renewal starts after the record it renews."),
            )


def _close_renewal_obligation(
    *, actor: User, renews: FacilityAuthorisation, record: FacilityAuthorisation
) -> None:
    """The open renewal obligation of the record renewed is done, with the new number as evidence."""
    open_renewal = Obligation.objects.filter(
        organisation_id=record.organisation_id,
        rule_id="FACILITY-LICENCE-RENEWAL",
        subject_type="regulatory.facility_authorisation",
        subject_id=str(renews.external_id),
        status=Obligation.Status.OPEN,
    ).first()
    if open_renewal is not None:
        obligation_mark_done(
            actor=actor,
            obligation=open_renewal,
            submitted_date=min(today_tokyo(), record.valid_from),
            evidence=_("Renewed: {number}, in force from {day}").format(
                number=record.number, day=record.valid_from.isoformat()
            ),
        )


def facility_authorisation_end(
    *,
    actor: User,
    record: FacilityAuthorisation,
    ended_on: dt.date,
    reason: str,
    note: str = "",
) -> FacilityAuthorisation:
    """End a record early (revoked, withdrawn, superseded): from the next day the gate refuses."""
    facility = record.facility
    _require(actor, facility)
    if reason not in FacilityAuthorisation.EndReason.values:
        raise _invalid("facility_authorisation.end_reason", "reason", _("Say why it ended."))
    if record.ended_on is not None:
        raise _invalid(
            "facility_authorisation.already_ended", "ended_on", _("This record has already ended.")
        )
    if ended_on < record.valid_from:
        raise _invalid(
            "facility_authorisation.end_before_start",
            "ended_on",
            _("A record cannot end before it came into force."),
        )
    with transaction.atomic():
        record.ended_on = ended_on
        record.end_reason = reason
        record.end_note = note.strip()
        record.save(update_fields=["ended_on", "end_reason", "end_note", "updated_at"])
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action="facility_authorisation.end",
            subject=record,
            changes={"ended_on": ended_on, "end_reason": reason, "note": note},
        )
        facility_obligations_refresh(actor=actor, facility=_fresh(facility))
    return record


def facility_change_record(
    *,
    actor: User,
    facility: ProcessingFacility,
    kind: str,
    description: str,
    change_date: dt.date,
) -> FacilityChange:
    """Record a change to a facility and open the notice it requires as an obligation."""
    _require(actor, facility)
    if kind not in FacilityChangeKind.values:
        raise _invalid("facility_change.kind", "kind", _("Say what changed."))
    if not description.strip():
        raise _invalid(
            "facility_change.description_required", "description", _("Describe the change.")
        )
    change = FacilityChange(
        organisation_id=facility.organisation_id,
        facility=facility,
        kind=kind,
        description=description.strip(),
        change_date=change_date,
        recorded_by=actor,
    )
    due = facility_change_notice_due(change_date=change_date, config=config.deadline_config())
    with transaction.atomic():
        change.save()
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action="facility_change.record",
            subject=change,
            changes={
                "facility": str(facility.external_id),
                "kind": kind,
                "change_date": change_date,
            },
        )
        obligation, _new = _upsert(
            plan=None,
            facility=facility,
            rule_id=due.rule,
            recipient=due.recipient.value,
            due_date=due.due_date,
            source=due.source,
            subject=("regulatory.facility_change", str(change.external_id)),
            trigger_date=change_date,
        )
        _record_created(actor=actor, plan=facility, created=[obligation], cause="facility_change")
    return change
