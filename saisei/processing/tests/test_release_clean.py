"""Release only a clean lot: each test tries to release one that is not, by service, API and page.

A lot whose every QC test passed is still refused while it has an open deviation, an
environmental-monitoring excursion without a closed investigation, a donation outside an in-force
plan, or a processing facility that is not listed and authorised on the release day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from saisei.core.errors import Conflict, DomainError
from saisei.core.models import AuditEntry
from saisei.core.tests.esign import signed
from saisei.core.tests.factories import TEST_PASSWORD, SiteFactory
from saisei.processing import services
from saisei.processing.models import Deviation, Donation, Dose, Lot, Release
from saisei.processing.tests.factories import (
    approved_programme,
    harvest,
    make_lot,
    plan_world,
    record_all,
)
from saisei.regulatory import models as rm
from saisei.regulatory.tests.factories import FacilityFactory

MEANING = "I release this lot for clinical use"


def _ready(tech: Any, patient: Any, **kw: Any) -> Lot:
    """A lot under the plan in force, harvested, divided, every QC test passed (or sterility
    pending for a fresh product): only its cleanliness decides."""
    pending = kw.pop("pending", ())
    lot = make_lot(tech, patient, **kw)
    harvest(tech, lot)
    services.dose_divide(
        actor=tech, lot=lot, bags=[{"cell_count": 1e8, "volume_ml": 50}] * lot.planned_doses
    )
    services.lot_submit_qc(actor=tech, lot=lot)
    record_all(tech, lot, pending=pending)
    return lot


def _release(qa: Any, lot: Lot, *, conditional: bool = False) -> Release:
    return services.lot_release(
        actor=qa,
        lot=lot,
        **signed(qa),
        meaning=MEANING,
        conditional=conditional,
        justification="Fresh product; Gram stain negative." if conditional else "",
    )


def _refused(qa: Any, lot: Lot, **kw: Any) -> DomainError:
    with pytest.raises(DomainError) as exc:
        _release(qa, lot, **kw)
    lot.refresh_from_db()
    assert lot.status == Lot.Status.QC_PENDING
    assert not Release.objects.filter(lot=lot).exists()
    assert set(lot.doses.values_list("status", flat=True)) == {Dose.Status.QUARANTINE}
    return exc.value


def _rules(error: DomainError) -> list[str]:
    """The rule ids a refusal names: the gate's findings are keyed by rule id (422), the clean
    check lists its rules (409)."""
    fields = error.as_dict()["error"]["fields"]
    if error.code == "compliance_gate_refused":
        return sorted(fields)
    return list(fields.get("rules", []))


# --- the clean path -------------------------------------------------------------------------------


def test_a_clean_lot_under_the_plan_in_force_is_released_with_the_gate_on_record(
    tech: Any, qa: Any, patient: Any
) -> None:
    lot = _ready(tech, patient)
    check = services.lot_release_check(actor=qa, lot=lot)
    assert check.allowed, check.as_dict()
    release = _release(qa, lot)
    assert release.readiness["gate"]["allowed"] is True
    assert AuditEntry.objects.filter(action="lot.release").count() == 1


# --- the lot's own record -------------------------------------------------------------------------


@pytest.mark.parametrize("conditional", [False, True])
def test_an_open_deviation_of_the_lot_blocks_full_and_conditional_release(
    tech: Any, qa: Any, patient: Any, conditional: bool
) -> None:
    lot = _ready(
        tech,
        patient,
        allow_conditional_release=conditional,
        pending=("sterility",) if conditional else (),
    )
    deviation = services.deviation_open(
        actor=tech, title="Incubator door left open 20 min", source="other", lot=lot
    )
    error = _refused(qa, lot, conditional=conditional)
    assert error.code == "lot_not_clean"
    assert "RELEASE-OPEN-DEVIATION" in error.fields["rules"]
    assert deviation.number in str(error.message)
    services.deviation_update(
        actor=tech, deviation=deviation, investigation="i", impact="none", capa="training"
    )
    _refused(qa, lot, conditional=conditional)  # documented is not closed
    services.deviation_update(actor=qa, deviation=deviation, status="closed")
    assert _release(qa, lot, conditional=conditional).kind == (
        "conditional" if conditional else "full"
    )


def test_an_open_deviation_of_the_donation_blocks_release(tech: Any, qa: Any, patient: Any) -> None:
    """A temperature excursion while the tissue travelled opens a deviation before any lot."""
    lot = _ready(tech, patient)
    services.deviation_open(
        actor=tech,
        organisation=lot.organisation,
        donation=lot.donation,
        source="custody",
        title="Tissue transport at 11 °C",
    )
    assert "RELEASE-OPEN-DEVIATION" in _refused(qa, lot).fields["rules"]


def test_a_tissue_transport_excursion_is_a_deviation_of_the_donation(
    tech: Any, physician: Any, patient: Any
) -> None:
    from saisei.processing.tests.factories import make_donation

    donation = make_donation(tech, patient)
    record, _pdf = services.donation_label_print(actor=physician, donation=donation)
    services.custody_handover(
        actor=physician,
        stage="transport",
        scan_text=record.content["datamatrix"],
        donation=donation,
        from_party="nurse",
        to_party="courier",
        place="clinic",
        temperature_min_c=4,
        temperature_max_c=12,
    )
    assert Deviation.objects.get(source="custody").donation == donation


@pytest.mark.parametrize("level_value", [6, 11], ids=["alert", "action"])
def test_an_environmental_excursion_during_manufacture_blocks_release_until_investigated(
    tech: Any, qa: Any, patient: Any, level_value: int
) -> None:
    world = plan_world(patient.organisation)
    approved_programme(preparer=tech, approver=qa, site=world.cpc)
    lot = _ready(tech, patient)
    reading = services.environmental_result_record(
        actor=tech,
        site=world.cpc,
        room="Processing room 1",
        location="cabinet 1",
        parameter="air_viable",
        value=level_value,
        sampled_at=timezone.now() - dt.timedelta(days=3),
    )  # not linked to the lot: the facility's excursions during its manufacture count
    error = _refused(qa, lot)
    assert "RELEASE-EM-EXCURSION-OPEN" in error.fields["rules"]
    assert reading.deviation.number in str(error.message)
    services.deviation_update(
        actor=tech,
        deviation=reading.deviation,
        investigation="Operator glove touched the sampler",
        impact="No impact on lots in process: closed processing",
        capa="Retraining",
    )
    services.deviation_update(actor=qa, deviation=reading.deviation, status="closed")
    assert _release(qa, lot).kind == "full"


def test_excursions_elsewhere_or_before_manufacture_do_not_block(
    tech: Any, qa: Any, patient: Any, org: Any
) -> None:
    world = plan_world(org)
    other_cpc = SiteFactory(organisation=org, kind="cell_processing_facility")
    approved_programme(preparer=tech, approver=qa, site=world.cpc)
    approved_programme(preparer=tech, approver=qa, site=other_cpc)
    lot = _ready(tech, patient)
    read = services.environmental_result_record
    read(
        actor=tech,
        site=other_cpc,
        room="Processing room 1",
        location="x",
        parameter="air_viable",
        value=50,
    )
    read(
        actor=tech,
        site=world.cpc,
        room="Processing room 1",
        location="x",
        parameter="air_viable",
        value=50,
        sampled_at=timezone.now() - dt.timedelta(days=60),
    )
    assert _release(qa, lot).kind == "full"


def test_an_excursion_linked_to_the_lot_blocks_wherever_it_was_sampled(
    tech: Any, qa: Any, patient: Any, org: Any
) -> None:
    other_cpc = SiteFactory(organisation=org, kind="cell_processing_facility")
    approved_programme(preparer=tech, approver=qa, site=other_cpc)
    lot = _ready(tech, patient)
    services.environmental_result_record(
        actor=tech,
        site=other_cpc,
        room="Processing room 1",
        location="x",
        parameter="settle_plate",
        value=4,
        lot=lot,
    )
    assert "RELEASE-EM-EXCURSION-OPEN" in _refused(qa, lot).fields["rules"]


def test_a_donation_that_names_no_facility_is_refused(tech: Any, qa: Any, patient: Any) -> None:
    lot = _ready(tech, patient)
    Donation.objects.filter(pk=lot.donation_id).update(facility=None)
    check = services.lot_release_check(actor=qa, lot=lot)
    assert "RELEASE-FACILITY-UNKNOWN" in [f.rule for f in check.findings]
    assert "GATE-CPC-UNKNOWN" in [f.rule for f in check.gate.findings]
    error = _refused(qa, lot)  # the gate, which runs first, refuses it already
    assert error.code == "compliance_gate_refused"
    assert "GATE-CPC-UNKNOWN" in _rules(error)


# --- the compliance gate for the act "release" ---------------------------------------------------


def _lapse_plan(lot: Lot) -> None:
    rm.PlanVersion.objects.filter(plan=lot.donation.plan).update(
        in_force_until=timezone.localdate() - dt.timedelta(days=1)
    )


def _suspend_plan(lot: Lot) -> None:
    rm.PlanVersion.objects.filter(plan=lot.donation.plan).update(state=rm.PlanState.SUSPENDED)


def _no_plan(lot: Lot) -> None:
    Donation.objects.filter(pk=lot.donation_id).update(plan=None)


def _facility_expired(lot: Lot) -> None:
    # The facility's licence register: its only record is a licence that expired yesterday.
    rm.FacilityAuthorisation.objects.filter(facility_id=lot.donation.facility_id).update(
        kind="licensed", valid_until=timezone.localdate() - dt.timedelta(days=1)
    )


def _facility_revoked(lot: Lot) -> None:
    rm.FacilityAuthorisation.objects.filter(facility_id=lot.donation.facility_id).update(
        ended_on=timezone.localdate() - dt.timedelta(days=1), end_reason="revoked"
    )


def _facility_not_listed(lot: Lot) -> None:
    other = FacilityFactory(organisation=lot.organisation)
    Donation.objects.filter(pk=lot.donation_id).update(facility=other)


def _consent_withdrawn(lot: Lot) -> None:
    lot.donation.patient.consents.update(withdrawn_at=timezone.now() - dt.timedelta(hours=1))


def _route_not_in_plan(lot: Lot) -> None:
    rm.PlanVersion.objects.filter(plan=lot.donation.plan).update(routes=["intra_articular"])


def _dose_outside_plan(lot: Lot) -> None:
    rm.PlanVersion.objects.filter(plan=lot.donation.plan).update(dose_max_cells=50_000_000)


def _no_cell_source(lot: Lot) -> None:
    Donation.objects.filter(pk=lot.donation_id).update(cell_source="")


def _cell_source_not_in_plan(lot: Lot) -> None:
    Donation.objects.filter(pk=lot.donation_id).update(cell_source="allogeneic")


BREAKS: list[tuple[str, Callable[[Lot], None], str]] = [
    ("plan lapsed", _lapse_plan, "GATE-PLAN-NOT-IN-FORCE"),
    ("plan suspended", _suspend_plan, "GATE-PLAN-SUSPENDED"),
    ("no plan", _no_plan, "GATE-PLAN-MISSING"),
    ("facility licence expired", _facility_expired, "GATE-CPC-NOT-AUTHORISED"),
    ("facility revoked", _facility_revoked, "GATE-CPC-NOT-AUTHORISED"),
    ("facility not in the plan", _facility_not_listed, "GATE-CPC-NOT-LISTED"),
    ("consent withdrawn", _consent_withdrawn, "GATE-CONSENT-NOT-VALID"),
    ("route not in the plan", _route_not_in_plan, "GATE-ROUTE-NOT-IN-PLAN"),
    ("cells per dose outside the plan", _dose_outside_plan, "GATE-DOSE-OUTSIDE-PLAN"),
    # The gate reads the cell source the harvest recorded, never the plan's own value.
    ("no cell source on record", _no_cell_source, "GATE-CELL-SOURCE-UNKNOWN"),
    ("cell source not the plan's", _cell_source_not_in_plan, "GATE-CELL-SOURCE-NOT-IN-PLAN"),
]


@pytest.mark.parametrize(("name", "breaks", "rule"), BREAKS, ids=[b[0] for b in BREAKS])
def test_the_gate_refuses_release_outside_an_in_force_plan_or_authorised_facility(
    tech: Any, qa: Any, patient: Any, name: str, breaks: Callable[[Lot], None], rule: str
) -> None:
    lot = _ready(tech, patient)
    breaks(lot)
    check = services.lot_release_check(actor=qa, lot=lot)
    assert not check.allowed and rule in [f.rule for f in check.gate.findings]
    error = _refused(qa, lot)
    assert error.code == "compliance_gate_refused"
    assert rule in _rules(error)


def test_a_refused_release_is_on_record_in_the_audit_ledger(
    tech: Any, qa: Any, patient: Any
) -> None:
    lot = _ready(tech, patient)
    _lapse_plan(lot)
    _refused(qa, lot)
    entry = AuditEntry.objects.get(action="lot.release_refused")
    assert entry.changes["code"] == "compliance_gate_refused"
    assert "GATE-PLAN-NOT-IN-FORCE" in str(entry.changes)


def test_release_check_reports_nothing_as_clean_when_it_is_not(
    tech: Any, qa: Any, patient: Any
) -> None:
    lot = _ready(tech, patient)
    services.deviation_open(actor=tech, title="Open", source="other", lot=lot)
    _facility_expired(lot)
    check = services.lot_release_check(actor=qa, lot=lot)
    assert not check.clean and not check.gate_allowed and not check.allowed
    data = check.as_dict()
    assert data["findings"][0]["rule"] == "RELEASE-OPEN-DEVIATION"


# --- API and page ---------------------------------------------------------------------------------


def _gate_status(res: Any) -> None:
    # The gate refuses with 422 and its findings (rule id -> [message, source]), never a release.
    assert res.status_code == 422, res.content


def test_the_api_refuses_an_unclean_release_and_explains_it(
    tech: Any, qa: Any, patient: Any, api_for: Any
) -> None:
    lot = _ready(tech, patient)
    deviation = services.deviation_open(actor=tech, title="Open", source="other", lot=lot)
    api = api_for(qa)
    check = api.get(f"/processing/lots/{lot.external_id}/release-check").json()
    assert check["allowed"] is False and check["findings"][0]["rule"] == "RELEASE-OPEN-DEVIATION"
    res = api.post(f"/processing/lots/{lot.external_id}/release", signed(qa, meaning=MEANING))
    assert res.status_code == 409
    error = res.json()["error"]
    assert error["code"] == "lot_not_clean"
    assert error["fields"]["rules"] == ["RELEASE-OPEN-DEVIATION"]
    services.deviation_update(
        actor=tech, deviation=deviation, investigation="i", impact="n", capa="c"
    )
    services.deviation_update(actor=qa, deviation=deviation, status="closed")
    _lapse_plan(lot)
    res = api.post(f"/processing/lots/{lot.external_id}/release", signed(qa, meaning=MEANING))
    _gate_status(res)
    assert res.json()["error"]["code"] == "compliance_gate_refused"
    assert "GATE-PLAN-NOT-IN-FORCE" in res.content.decode()
    assert not Release.objects.filter(lot=lot).exists()


def test_the_release_page_shows_the_refusal_and_releases_nothing(
    tech: Any, qa: Any, patient: Any, web_for: Any
) -> None:
    lot = _ready(tech, patient)
    deviation = services.deviation_open(
        actor=tech, title="Particle counter alarm", source="other", lot=lot
    )
    client = web_for(qa)
    url = f"/processing/lots/{lot.external_id}/release/"
    page = client.get(url).content.decode()
    assert "Release blocked" in page and deviation.number in page
    detail = client.get(f"/processing/lots/{lot.external_id}/").content.decode()
    assert "Release blocked" in detail
    res = client.post(url, signed(qa, meaning=MEANING))
    assert res.status_code == 400
    assert "not clean" in res.content.decode() and deviation.number in res.content.decode()
    _facility_expired(lot)
    services.deviation_update(
        actor=tech, deviation=deviation, investigation="i", impact="n", capa="c"
    )
    services.deviation_update(actor=qa, deviation=deviation, status="closed")
    res = client.post(url, signed(qa, meaning=MEANING))
    assert res.status_code == 400
    assert "no valid licence, notification or accreditation" in res.content.decode()
    lot.refresh_from_db()
    assert lot.status == Lot.Status.QC_PENDING


@pytest.mark.parametrize(
    "role", ["cpc_technician", "physician", "nurse", "compliance_officer", "org_admin"]
)
def test_only_qa_releases_through_the_api_and_the_page(
    tech: Any, patient: Any, org: Any, make_user: Any, api_for: Any, web_for: Any, role: str
) -> None:
    lot = _ready(tech, patient)
    user = make_user(role, org)
    body = {"password": TEST_PASSWORD, "meaning": MEANING}
    assert (
        api_for(user).post(f"/processing/lots/{lot.external_id}/release", body).status_code == 403
    )
    res = web_for(user).post(f"/processing/lots/{lot.external_id}/release/", body)
    assert res.status_code == 403
    assert not Release.objects.filter(lot=lot).exists()


def test_a_release_refused_for_cleanliness_is_a_conflict_not_a_crash(
    tech: Any, qa: Any, patient: Any
) -> None:
    lot = _ready(tech, patient)
    services.deviation_open(actor=tech, title="x", source="other", lot=lot)
    with pytest.raises(Conflict):
        _release(qa, lot)
