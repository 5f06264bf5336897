"""Scenarios for QC, quarantine and QA release, written to read as the rules they check."""

from __future__ import annotations

from typing import Any

import pytest

from saisei.core.errors import Conflict, Forbidden, ValidationFailed
from saisei.core.models import AuditEntry, Notification
from saisei.core.tests.esign import signed
from saisei.processing import services, specs
from saisei.processing.models import Deviation, Dose, Lot, Release
from saisei.processing.tests.factories import (
    give,
    harvest,
    make_course,
    make_donation,
    make_lot,
    make_patient,
    passing_results,
    record_all,
)

pytestmark = pytest.mark.django_db
MEANING = "I release this lot for clinical use"


def _ready_lot(tech: Any, patient: Any, **kw: Any) -> Lot:
    lot = make_lot(tech, patient, **kw)
    harvest(tech, lot)
    services.dose_divide(
        actor=tech,
        lot=lot,
        bags=[{"cell_count": 1e8, "volume_ml": 50}, {"cell_count": 1e8, "volume_ml": 50}],
    )
    return services.lot_submit_qc(actor=tech, lot=lot)


def test_donation_gets_a_din_with_check_flags_and_a_coi(tech: Any, patient: Any) -> None:
    from saisei.processing.isbt128 import parse_scan

    donation = make_donation(tech, patient)
    assert len(donation.din) == 13
    assert parse_scan(f"={donation.din}{donation.din_flags}").valid
    repeat = make_donation(tech, patient, course=donation.course)
    assert repeat.din != donation.din
    assert repeat.coi == donation.coi  # one chain-of-identity id per treatment course
    next_course = make_donation(tech, patient)
    assert next_course.coi != donation.coi  # a new course gets a new one


def test_processing_refused_until_every_required_marker_is_negative(
    tech: Any, patient: Any
) -> None:
    donation = make_donation(tech, patient, infection_markers={"hbs_ag": "negative"})
    with pytest.raises(Conflict) as exc:
        services.lot_create(actor=tech, donation=donation, planned_doses=2, cells_per_dose=1e8)
    assert exc.value.code == "donation_markers_incomplete"


def test_positive_marker_blocks_processing(tech: Any, patient: Any) -> None:
    from saisei.processing.tests.factories import negative_markers

    donation = make_donation(
        tech, patient, infection_markers={**negative_markers(), "hcv_ab": "positive"}
    )
    with pytest.raises(Conflict) as exc:
        services.lot_create(actor=tech, donation=donation, planned_doses=2, cells_per_dose=1e8)
    assert exc.value.code == "donation_marker_positive"


def test_lot_gets_a_forecast_due_date(tech: Any, patient: Any) -> None:
    lot = make_lot(tech, patient)
    assert lot.forecast.get("likely")
    assert lot.due_on is not None


def test_a_lot_with_all_tests_passed_is_released_by_qa_signature(
    tech: Any, qa: Any, patient: Any
) -> None:
    lot = _ready_lot(tech, patient)
    record_all(tech, lot)
    release = services.lot_release(actor=qa, lot=lot, **signed(qa), meaning=MEANING)
    lot.refresh_from_db()
    assert lot.status == Lot.Status.RELEASED
    assert release.signature["user"] == qa.username
    assert set(lot.doses.values_list("status", flat=True)) == {Dose.Status.RELEASED}
    assert AuditEntry.objects.filter(action="lot.release").exists()


@pytest.mark.parametrize(
    "code", [specs.STERILITY, specs.ENDOTOXIN, specs.VIABILITY, "identity_cd90"]
)
def test_a_lot_missing_any_required_test_cannot_be_released(
    tech: Any, qa: Any, patient: Any, code: str
) -> None:
    lot = _ready_lot(tech, patient)
    record_all(tech, lot, skip=(code,))
    with pytest.raises(Conflict) as exc:
        services.lot_release(actor=qa, lot=lot, **signed(qa), meaning=MEANING)
    assert exc.value.code == "release_refused"
    assert not Release.objects.filter(lot=lot).exists()


@pytest.mark.parametrize(
    ("code", "bad"),
    [
        (specs.ENDOTOXIN, 500.0),
        (specs.VIABILITY, 55),
        (specs.MYCOPLASMA, "positive"),
        ("identity_cd45", 8),
    ],
)
def test_a_failed_required_test_quarantines_the_lot_opens_a_deviation_and_blocks_release(
    tech: Any, qa: Any, patient: Any, code: str, bad: Any
) -> None:
    lot = _ready_lot(tech, patient)
    record_all(tech, lot, override={code: bad})
    lot.refresh_from_db()
    assert lot.status == Lot.Status.QUARANTINED
    assert Deviation.objects.filter(lot=lot, source="oos").exists()
    with pytest.raises(Conflict):
        services.lot_release(actor=qa, lot=lot, **signed(qa), meaning=MEANING)


def test_endotoxin_limit_switches_with_route(tech: Any, patient: Any) -> None:
    iv = make_lot(tech, patient)
    it = make_lot(tech, patient, route="intrathecal")
    iv_limit = services.lot_specifications(lot=iv).get(specs.ENDOTOXIN).limit
    it_limit = services.lot_specifications(lot=it).get(specs.ENDOTOXIN).limit
    assert it_limit < iv_limit


def test_only_qa_releases(tech: Any, patient: Any) -> None:
    lot = _ready_lot(tech, patient)
    record_all(tech, lot)
    with pytest.raises(Forbidden):
        services.lot_release(actor=tech, lot=lot, **signed(tech), meaning=MEANING)


def test_release_needs_the_password_and_a_meaning(tech: Any, qa: Any, patient: Any) -> None:
    lot = _ready_lot(tech, patient)
    record_all(tech, lot)
    with pytest.raises(ValidationFailed) as exc:
        services.lot_release(actor=qa, lot=lot, password="wrong", meaning=MEANING)
    assert exc.value.code == "signature_password_invalid"
    with pytest.raises(ValidationFailed):
        services.lot_release(actor=qa, lot=lot, **signed(qa), meaning=" ")


def test_second_release_of_the_same_lot_is_refused(tech: Any, qa: Any, patient: Any) -> None:
    lot = _ready_lot(tech, patient)
    record_all(tech, lot)
    services.lot_release(actor=qa, lot=lot, **signed(qa), meaning=MEANING)
    with pytest.raises(Conflict):
        services.lot_release(actor=qa, lot=lot, **signed(qa), meaning=MEANING)
    assert Release.objects.filter(lot=lot).count() == 1


def _conditional_lot(tech: Any, qa: Any, patient: Any) -> Lot:
    lot = _ready_lot(tech, patient, allow_conditional_release=True)
    record_all(tech, lot, pending=(specs.STERILITY,))
    services.lot_release(
        actor=qa,
        lot=lot,
        **signed(qa),
        meaning=MEANING,
        conditional=True,
        justification="Fresh product; infusion scheduled before the 14-day culture ends.",
    )
    lot.refresh_from_db()
    return lot


def test_conditional_release_while_sterility_runs(tech: Any, qa: Any, patient: Any) -> None:
    lot = _conditional_lot(tech, qa, patient)
    assert lot.status == Lot.Status.CONDITIONALLY_RELEASED
    assert lot.release.kind == Release.Kind.CONDITIONAL


def test_conditional_release_needs_a_justification(tech: Any, qa: Any, patient: Any) -> None:
    lot = _ready_lot(tech, patient, allow_conditional_release=True)
    record_all(tech, lot, pending=(specs.STERILITY,))
    with pytest.raises(Conflict):
        services.lot_release(actor=qa, lot=lot, **signed(qa), meaning=MEANING, conditional=True)


def test_conditional_release_refused_for_a_product_that_does_not_allow_it(
    tech: Any, qa: Any, patient: Any
) -> None:
    lot = _ready_lot(tech, patient)
    record_all(tech, lot, pending=(specs.STERILITY,))
    with pytest.raises(Conflict):
        services.lot_release(
            actor=qa,
            lot=lot,
            **signed(qa),
            meaning=MEANING,
            conditional=True,
            justification="x",
        )


def test_negative_final_sterility_turns_conditional_into_full_release(
    tech: Any, qa: Any, patient: Any
) -> None:
    lot = _conditional_lot(tech, qa, patient)
    services.qc_result_record(actor=tech, lot=lot, test_code=specs.STERILITY, value="no_growth")
    lot.refresh_from_db()
    assert lot.status == Lot.Status.RELEASED
    assert lot.release.sterility_confirmed_at is not None


def test_positive_culture_after_conditional_release_blocks_every_remaining_dose(
    tech: Any, qa: Any, physician: Any, nurse: Any, patient: Any
) -> None:
    lot = _conditional_lot(tech, qa, patient)
    given, remaining = list(lot.doses.order_by("sequence"))
    services.dose_thaw(actor=nurse, dose=given, viability_pct=88)
    ref = give(given, nurse=nurse).administration_ref

    services.qc_result_record(
        actor=tech, lot=lot, test_code=specs.STERILITY, value="growth", organism="S. epidermidis"
    )

    lot.refresh_from_db()
    remaining.refresh_from_db()
    given.refresh_from_db()
    assert lot.status == Lot.Status.REJECTED
    assert remaining.status == Dose.Status.RECALLED
    assert given.status == Dose.Status.ADMINISTERED
    alert = lot.culture_alerts.get()
    assert [d["administration_ref"] for d in alert.doses_given] == [ref]
    assert str(remaining.external_id) in alert.doses_blocked
    assert Notification.objects.filter(user=physician, level="danger").exists()
    with pytest.raises(Conflict):
        services.dose_thaw(actor=nurse, dose=remaining, viability_pct=90)
    services.culture_alert_follow_up(
        actor=physician, alert=alert, follow_up="Patient contacted; blood cultures negative."
    )


def test_quarantined_lot_returns_to_qc_only_after_deviation_closed(
    tech: Any, qa: Any, patient: Any
) -> None:
    lot = _ready_lot(tech, patient)
    record_all(tech, lot, override={specs.ENDOTOXIN: 500.0})
    lot.refresh_from_db()
    with pytest.raises(Conflict):
        services.lot_quarantine_lift(actor=qa, lot=lot, reason="retest")
    deviation = lot.deviations.get()
    with pytest.raises(Conflict) as refused:  # a guard refusal: 409 (was 422 before issue 11)
        services.deviation_update(actor=qa, deviation=deviation, status="closed")
    assert refused.value.code == "deviation_incomplete"
    services.deviation_update(
        actor=qa,
        deviation=deviation,
        investigation="Sampling error: tube contaminated.",
        impact="None on product; retest valid.",
        capa="Retrain sampling.",
        status="closed",
    )
    lot = services.lot_quarantine_lift(actor=qa, lot=lot, reason="Investigation closed")
    assert lot.status == Lot.Status.QC_PENDING


def test_culture_record_closes_when_lot_goes_to_qc(tech: Any, patient: Any) -> None:
    lot = _ready_lot(tech, patient)
    with pytest.raises(Conflict):
        services.culture_step_record(actor=tech, lot=lot, kind="feed")


def test_submit_to_qc_needs_a_harvest(tech: Any, patient: Any) -> None:
    lot = make_lot(tech, patient)
    with pytest.raises(Conflict):
        services.lot_submit_qc(actor=tech, lot=lot)


def test_passing_results_cover_the_whole_specification(tech: Any, patient: Any) -> None:
    lot = make_lot(tech, patient)
    assert specs.STERILITY in passing_results(lot)


def test_other_organisation_cannot_touch_the_lot(
    tech: Any, patient: Any, other_org: Any, make_user: Any
) -> None:
    lot = make_lot(tech, patient)
    outsider = make_user("cpc_technician", other_org)
    with pytest.raises(Forbidden):
        services.culture_step_record(actor=outsider, lot=lot, kind="feed")
    assert make_patient(other_org)


def test_harvest_under_a_plan_not_in_force_is_refused_by_the_compliance_gate(
    tech: Any, patient: Any
) -> None:
    from saisei.processing.models import Donation
    from saisei.regulatory.tests.factories import PlanFactory

    plan = PlanFactory(organisation=patient.organisation)  # draft: never accepted
    course = make_course(patient, plan=plan)
    with pytest.raises(ValidationFailed) as exc:
        make_donation(tech, patient, course=course, plan=plan)
    assert exc.value.code == "compliance_gate_refused"
    assert not Donation.objects.exists()
