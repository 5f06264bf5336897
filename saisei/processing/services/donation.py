"""Donations: the recorded harvest behind the compliance gate, and its infection markers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Forbidden, ValidationFailed
from saisei.core.models import Site, User
from saisei.processing import permissions
from saisei.processing.models import Donation
from saisei.processing.rules import MARKER_RESULTS, processing_config

from . import identity
from .common import aware, next_number, require, require_same_org


def _gate(
    *,
    actor: User,
    patient: Any,
    plan: Any,
    physician: Any,
    facility: Any,
    cell_source: str,
    site: Site,
    at: dt.datetime,
    donor: Any,
) -> None:
    """The compliance gate must allow this harvest (DESIGN invariant 1), or nothing is recorded.

    The place of the act is the collection site, the physician the one who performs the harvest
    (not whoever records it), and the indication the patient's coded diagnosis. A refusal is kept
    by the gate as a ``GateRefusal`` and reaches the caller as ``GateRefused`` (422).

    After the gate (which keeps its refusals): an allogeneic plan's harvest comes from an
    eligible, consented donor; an autologous one takes none (ASRM Art. 2; decision 0023).
    """
    from saisei.regulatory.services import gate_require

    from .donor import donation_donor_check

    for obj in (plan, physician, facility):
        if obj is not None:
            require_same_org(actor, obj)
    gate_require(
        actor=actor,
        act="harvest",
        institution=site,
        physician=physician,
        patient=patient,
        plan=plan,
        route=None,
        dose_cells=None,
        administration_number=None,
        at=at,
        cell_source=cell_source,
        facility=facility,
        subject=_("Harvest for %(patient)s at %(site)s")
        % {"patient": getattr(patient, "patient_code", ""), "site": site.name},
    )
    donation_donor_check(actor=actor, plan=plan, day=timezone.localdate(at), donor=donor)


def _markers(raw: dict[str, str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for code, result in (raw or {}).items():
        value = str(result).strip().lower()
        if value not in MARKER_RESULTS:
            errors[str(code)] = [_("Enter negative, positive or pending.")]
        out[str(code)] = value
    if errors:
        raise ValidationFailed("marker_result", _("Some marker results cannot be read."), errors)
    return out


def markers_status(*, donation: Donation) -> dict[str, list[str]]:
    """Which required infection markers are missing, pending or positive."""
    required = processing_config().required_markers
    results = donation.infection_markers or {}
    return {
        "missing": [m for m in required if m not in results],
        "pending": [m for m in required if results.get(m) == "pending"],
        "positive": [m for m, v in results.items() if v == "positive"],
    }


def donation_record(
    *,
    actor: User,
    patient: Any,
    site: Site,
    harvest_site: str,
    tissue_weight_g: Decimal | float | str,
    container: str,
    collected_at: dt.datetime | None = None,
    transport_conditions: str = "",
    course: Any = None,
    plan: Any = None,
    physician: Any,
    facility: Any,
    cell_source: str,
    infection_markers: dict[str, str] | None = None,
    collector: User | None = None,
    notes: str = "",
    donor: Any = None,
) -> Donation:
    """Record a harvest for one treatment course and assign its DIN and chain-of-identity id.

    The course names the plan: an omitted ``plan`` is the course's, a stated one must be it. The
    compliance gate must then pass for the plan version in force that day, the performing
    physician (a separate argument, not whoever records it), the processing facility, the cell
    source and the patient's diagnosis (ASRM Art. 4, 13, 14); there is no path that records a
    harvest outside a plan. The CoI belongs to the course (ISBT 128 ST-028, one identifier per
    therapy event): the course's first harvest issues it, a repeat harvest for the same course
    shares it, and a new course gets a new one. The harvest closes that course's harvest step.
    """
    require(permissions.can_record_donation(actor))
    require_same_org(actor, patient)
    weight = _check_harvest_fields(
        actor=actor,
        site=site,
        tissue_weight_g=tissue_weight_g,
        harvest_site=harvest_site,
        container=container,
    )
    course = identity.harvest_course(patient=patient, course=course, plan=plan)
    plan = course.plan
    at = aware(collected_at, field="collected_at")
    markers = _markers(infection_markers)
    _gate(
        actor=actor,
        patient=patient,
        plan=plan,
        physician=physician,
        facility=facility,
        cell_source=(cell_source or "").strip().lower(),
        site=site,
        at=at,
        donor=donor,
    )
    with transaction.atomic():
        din, din_flags, coi = _issue_identifiers(course=course, patient=patient, at=at)
        donation = Donation.objects.create(
            organisation=patient.organisation,
            patient=patient,
            course=course,
            plan=plan,
            facility=facility,
            physician=physician,
            cell_source=(cell_source or "").strip().lower(),
            din=din,
            din_flags=din_flags,
            coi=coi,
            site=site,
            harvest_site=harvest_site.strip(),
            tissue_weight_g=weight,
            collected_at=at,
            collector=collector or actor,
            container=container.strip(),
            transport_conditions=transport_conditions.strip(),
            infection_markers=markers,
            notes=notes,
        )
        _after_harvest(actor=actor, donation=donation, course=course, plan=plan, donor=donor)
    return donation


def _after_harvest(*, actor: User, donation: Donation, course: Any, plan: Any, donor: Any) -> None:
    """The ledger entry, the donor's link (allogeneic) and the course's harvest step done."""
    from saisei.journey.services import course_step_record_harvest

    from .donor import donor_link_create

    _audit_donation(actor=actor, donation=donation, course=course, plan=plan)
    if donor is not None:
        donor_link_create(actor=actor, donor=donor, donation=donation)
    course_step_record_harvest(
        actor=actor, course=course, donation_ref=donation.din, at=donation.collected_at
    )


def _audit_donation(*, actor: User, donation: Donation, course: Any, plan: Any) -> None:
    audit_record(
        actor=actor,
        organisation=donation.organisation,
        action="donation.record",
        subject=donation,
        changes={
            "din": donation.din,
            "coi": donation.coi,
            "course": str(course.external_id),
            "patient": str(donation.patient.external_id),
            "tissue_weight_g": str(donation.tissue_weight_g),
            "plan": plan.plan_number or plan.title,
            "physician": str(donation.physician),
            "facility": str(donation.facility),
            "cell_source": donation.cell_source,
            "gate": "passed",
        },
    )


def _check_harvest_fields(
    *,
    actor: User,
    site: Site,
    tissue_weight_g: Decimal | float | str,
    harvest_site: str,
    container: str,
) -> Decimal:
    """The collection site is the actor's, the weight is in range, body site and container are
    named; returns the weight in grams."""
    if site.organisation_id != actor.organisation_id:
        raise ValidationFailed("site_unknown", _("Unknown site."), {"site": [_("Unknown site.")]})
    try:
        weight = Decimal(str(tissue_weight_g))
    except InvalidOperation:
        weight = Decimal(-1)
    if not (Decimal(0) < weight <= Decimal(5000)):
        raise ValidationFailed(
            "tissue_weight",
            _("Enter the tissue weight in grams (more than 0, at most 5,000)."),
            {"tissue_weight_g": [_("Enter a weight in grams.")]},
        )
    if not harvest_site.strip() or not container.strip():
        raise ValidationFailed(
            "donation_incomplete",
            _("Record the body site and the container."),
            {"harvest_site" if not harvest_site.strip() else "container": [_("Required.")]},
        )
    return weight


def _issue_identifiers(*, course: Any, patient: Any, at: dt.datetime) -> tuple[str, str, str]:
    """The harvest's DIN (next in the facility's yearly sequence, with its flags) and the
    course's chain-of-identity id (issued by the first harvest, shared by a repeat)."""
    from saisei.processing.isbt128 import build_coi, build_din

    config = processing_config()
    year = timezone.localtime(at).year
    sequence = next_number(key=f"DIN:{config.facility_id}", year=year % 100)
    din = build_din(facility_id=config.facility_id, year=year, sequence=sequence, check_flags=True)
    coi = identity.course_identity_issue(
        course=course,
        patient=patient,
        new_coi=build_coi(facility_id=config.facility_id, year=year, sequence=sequence).content,
    ).coi
    return din.din, din.flags, coi


def donation_markers_record(
    *, actor: User, donation: Donation, results: dict[str, str]
) -> Donation:
    """Add or correct infection-marker results; a correction of a final result needs QA."""
    require(permissions.can_record_markers(actor))
    require_same_org(actor, donation)
    new = _markers(results)
    with transaction.atomic():
        donation = Donation.objects.select_for_update().get(pk=donation.pk)
        before = dict(donation.infection_markers)
        changed_final = [
            m for m, v in new.items() if before.get(m) not in (None, "pending") and before[m] != v
        ]
        if changed_final and not permissions.can_correct_markers(actor):
            raise Forbidden(
                _("A final marker result can only be corrected by QA: %(markers)s")
                % {"markers": ", ".join(changed_final)},
                code="marker_final",
            )
        donation.infection_markers = {**before, **new}
        donation.save(update_fields=["infection_markers", "updated_at"])
        audit_record(
            actor=actor,
            organisation=donation.organisation,
            action="donation.markers",
            subject=donation,
            changes={"before": before, "after": donation.infection_markers},
        )
    return donation
