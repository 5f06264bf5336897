"""A serious adverse event holds the rest of its lot: nothing moves until QA lifts each hold.

Each test tries to move a held bag (hand-over, thaw, bedside check, infusion), or to lift a hold
without being QA or without a reason, through the services, the API and the pages.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from saisei.core.errors import Conflict, Forbidden, ValidationFailed
from saisei.core.models import AuditEntry
from saisei.core.tests.esign import signed
from saisei.core.tests.factories import TEST_PASSWORD
from saisei.core.timezones import TOKYO
from saisei.processing import services as processing
from saisei.processing.models import Dose, DoseHold
from saisei.safety import services
from saisei.treatment import services as treatment
from saisei.treatment.tests.factories import make_world, thaw

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org: Any) -> Any:
    return make_world(org)


@pytest.fixture
def given(world: Any) -> Any:
    """Infusion 1 given: the event can be linked to its administration, dose and lot."""
    check = treatment.bedside_verify(
        actor=world.nurse,
        patient_scan=world.wristband,
        product_scans=[world.labels[0]],
        course_step=world.steps[0],
        route="iv",
    )
    return treatment.administration_record(
        actor=world.nurse,
        verification=check,
        second_person=world.nurse2,
        second_person_password=TEST_PASSWORD,
        physician=world.physician_user,
    )


@pytest.fixture
def qa(make_user: Any, org: Any) -> Any:
    return make_user("qa_manager", org)


def serious(world: Any, administration: Any, actor: Any = None, **kw: Any) -> Any:
    values = {
        "term": "Fever with rigors, admitted",
        "onset_date": timezone.localdate(timezone=TOKYO),
        "severity_grade": 3,
        "hospitalisation": True,
        **kw,
    }
    return services.adverse_event_record(
        actor=actor or world.physician_user,
        patient=world.patient,
        administration=administration,
        **values,
    )


def others(world: Any) -> list[Dose]:
    return list(Dose.objects.filter(lot=world.lot).exclude(sequence=1).order_by("sequence"))


def test_a_serious_event_puts_every_other_unused_dose_of_its_lot_on_hold_at_once(
    world: Any, given: Any
) -> None:
    event = serious(world, given)
    held = others(world)
    assert [d.status for d in held] == ["on_hold", "on_hold"]
    holds = DoseHold.objects.filter(dose__in=held, lifted_at__isnull=True)
    assert holds.count() == 2
    assert {h.source_ref for h in holds} == {event.number}
    assert {h.previous_status for h in holds} == {"released"}
    assert Dose.objects.get(pk=given.dose_id).status == "administered"  # its own dose is given
    assert AuditEntry.objects.filter(action="dose.hold").count() == 2


def test_a_non_serious_event_holds_nothing_until_it_becomes_serious(world: Any, given: Any) -> None:
    event = serious(world, given, hospitalisation=False, severity_grade=1, term="Headache")
    assert {d.status for d in others(world)} == {"released"}
    # A nurse may make an event more serious: the holds follow at once.
    services.adverse_event_update(actor=world.nurse, event=event, hospitalisation=True)
    assert {d.status for d in others(world)} == {"on_hold"}


def test_only_a_physician_loosens_an_assessment(world: Any, given: Any) -> None:
    event = serious(world, given)
    for change in (
        {"hospitalisation": False},
        {"severity_grade": 2},
        {"related_cells": "unlikely"},
    ):
        with pytest.raises(Forbidden):
            services.adverse_event_update(actor=world.nurse, event=event, **change)
    services.adverse_event_update(actor=world.physician_user, event=event, related_cells="unlikely")
    # Loosening the assessment never lifts a hold: that is QA's decision.
    services.adverse_event_update(actor=world.physician_user, event=event, hospitalisation=False)
    assert {d.status for d in others(world)} == {"on_hold"}


def test_a_held_dose_cannot_be_handed_over_thawed_verified_or_given(world: Any, given: Any) -> None:
    serious(world, given)
    dose = others(world)[0]
    for stage in ("storage", "shipment", "transport", "bedside"):
        with pytest.raises(Conflict) as exc:
            processing.custody_handover(
                actor=world.nurse,
                stage=stage,
                scan_text=world.labels[1],
                dose=dose,
                from_party="CPC",
                to_party="Ward",
                place="Clinic",
                temperature_min_c=-190,
                temperature_max_c=-180,
            )
        assert exc.value.code == "dose_blocked"
    with pytest.raises(Conflict):
        processing.dose_thaw(actor=world.nurse, dose=dose, viability_pct=90)
    check = treatment.bedside_verify(
        actor=world.nurse,
        patient_scan=world.wristband,
        product_scans=[world.labels[1]],
        course_step=world.steps[1],
        route="iv",
    )
    assert not check.passed
    failed = {c["code"]: c["message"] for c in check.checks if not c["passed"]}
    assert "on hold for QA" in failed["dose_released"]
    assert dose.custody.count() == 0


def test_a_check_passed_before_the_hold_cannot_be_used_after_it(world: Any, given: Any) -> None:
    dose = others(world)[0]
    thaw(dose)
    check = treatment.bedside_verify(
        actor=world.nurse,
        patient_scan=world.wristband,
        product_scans=[world.labels[1]],
        course_step=world.steps[1],
        route="iv",
    )
    assert check.passed, check.checks
    serious(world, given)
    with pytest.raises(Conflict) as exc:
        treatment.administration_record(
            actor=world.nurse,
            verification=check,
            second_person=world.nurse2,
            second_person_password=TEST_PASSWORD,
            physician=world.physician_user,
        )
    assert exc.value.code == "bedside_dose_released"
    dose.refresh_from_db()
    assert dose.status == "on_hold" and dose.administered_at is None


def test_only_qa_lifts_a_hold_with_a_reason_and_the_dose_returns_where_it_was(
    world: Any, given: Any, qa: Any, make_user: Any, org: Any
) -> None:
    serious(world, given)
    dose = others(world)[0]
    for user in (world.nurse, world.physician_user, make_user("cpc_technician", org)):
        with pytest.raises(Forbidden):
            processing.dose_hold_lift(actor=user, dose=dose, reason="fine")
    with pytest.raises(ValidationFailed) as exc:
        processing.dose_hold_lift(actor=qa, dose=dose, reason="  ")
    assert exc.value.code == "reason_required"
    processing.dose_hold_lift(
        actor=qa,
        dose=dose,
        reason="Event judged unrelated to the product; sterility retest negative",
    )
    dose.refresh_from_db()
    assert dose.status == "released"
    hold = DoseHold.objects.get(dose=dose)
    assert hold.lifted_by == qa and "sterility retest" in hold.lift_reason
    entry = AuditEntry.objects.get(action="dose.hold_lift")
    assert "sterility retest" in entry.reason
    processing.custody_handover(
        actor=world.nurse,
        stage="storage",
        scan_text=world.labels[1],
        dose=dose,
        from_party="CPC",
        to_party="LN2",
        place="CPC",
    )
    with pytest.raises(Conflict) as exc2:
        processing.dose_hold_lift(actor=qa, dose=dose, reason="again")
    assert exc2.value.code == "dose_not_on_hold"


def test_a_quarantined_lot_keeps_its_holds_and_a_recall_ends_them(
    world: Any, given: Any, qa: Any
) -> None:
    serious(world, given)
    processing.lot_quarantine(actor=qa, lot=world.lot, reason="Investigating the event")
    assert {d.status for d in others(world)} == {"on_hold"}
    dose = others(world)[0]
    with pytest.raises(Conflict) as exc:
        processing.dose_hold_lift(actor=qa, dose=dose, reason="ok")
    assert exc.value.code == "lift_hold_refused"  # the lot is not released
    processing.lot_reject(actor=qa, lot=world.lot, reason="Product implicated", **signed(qa))
    assert {d.status for d in others(world)} == {"recalled"}
    assert not DoseHold.objects.filter(lifted_at__isnull=True).exists()


def test_a_clinician_reports_a_bag_unusable_instead_of_discarding_it(world: Any, qa: Any) -> None:
    dose = world.doses[2]
    with pytest.raises(Forbidden):
        processing.dose_discard(actor=world.nurse, dose=dose, reason="bag leaking")
    hold = processing.dose_report_unusable(actor=world.nurse, dose=dose, reason="bag leaking")
    dose.refresh_from_db()
    assert dose.status == "on_hold" and hold.kind == "unusable"
    with pytest.raises(ValidationFailed):
        processing.dose_report_unusable(actor=world.nurse, dose=world.doses[1], reason="")


# --- API and pages -----------------------------------------------------------------------------


def test_the_api_event_holds_the_lot_and_only_qa_lifts(
    world: Any, given: Any, qa: Any, api_for: Any
) -> None:
    res = api_for(world.physician_user).post(
        "/safety/events",
        {
            "patient": str(world.patient.external_id),
            "administration": str(given.external_id),
            "term": "Anaphylaxis",
            "onset_date": str(timezone.localdate(timezone=TOKYO)),
            "severity_grade": 4,
            "life_threatening": True,
        },
    )
    assert res.status_code == 201, res.content
    dose = others(world)[0]
    detail = api_for(world.nurse).get(f"/processing/doses/{dose.external_id}").json()
    assert detail["status"] == "on_hold" and res.json()["number"] in detail["status_reason"]
    held = api_for(qa).get("/processing/holds").json()
    assert held["count"] == 2 and held["items"][0]["source_ref"] == res.json()["number"]
    url = f"/processing/doses/{dose.external_id}/lift-hold"
    assert api_for(world.nurse).post(url, {"reason": "looks fine"}).status_code == 403
    assert api_for(qa).post(url, {"reason": ""}).status_code == 422
    res = api_for(qa).post(url, {"reason": "Assessed: unrelated"})
    assert res.status_code == 200 and res.json()["status"] == "released"


def test_the_event_form_holds_the_lot_and_the_dose_page_lifts_for_qa_only(
    world: Any, given: Any, qa: Any, web_for: Any
) -> None:
    now = timezone.localtime(timezone=TOKYO)
    res = web_for(world.physician_user).post(
        reverse("safety:event_new"),
        {
            "patient": world.patient.pk,
            "administration": str(given.external_id),
            "term": "Seizure",
            "onset_date": now.date().isoformat(),
            "aware_at": now.strftime("%Y-%m-%dT%H:%M"),
            "severity_grade": "3",
            "hospitalisation": "on",
            "related_harvest": "not_assessed",
            "related_cells": "possible",
            "related_administration": "possible",
            "outcome": "recovering",
        },
    )
    assert res.status_code == 302, res.content.decode()[:2000]
    page = web_for(world.physician_user).get(res["Location"]).content.decode()
    assert "On hold for QA" in page
    dose = others(world)[0]
    url = reverse("processing:dose_lift_hold", args=[dose.external_id])
    assert web_for(world.nurse).post(url, {"lift-reason": "fine"}).status_code == 403
    detail = web_for(qa).get(reverse("processing:dose_detail", args=[dose.external_id]))
    assert "Lift the hold" in detail.content.decode()
    assert web_for(qa).post(url, {"lift-reason": ""}).status_code == 400
    assert web_for(qa).post(url, {"lift-reason": "Assessed: unrelated"}).status_code == 302
    dose.refresh_from_db()
    assert dose.status == "released"


def test_the_dose_page_lets_a_nurse_report_a_bag_unusable(world: Any, web_for: Any) -> None:
    dose = world.doses[2]
    client = web_for(world.nurse)
    page = client.get(reverse("processing:dose_detail", args=[dose.external_id])).content
    assert b"Report unusable" in page and b"Discard the dose" not in page
    res = client.post(
        reverse("processing:dose_report_unusable", args=[dose.external_id]),
        {"unusable-reason": "Bag cracked on arrival"},
    )
    assert res.status_code == 302
    dose.refresh_from_db()
    assert dose.status == "on_hold" and dose.status_reason == "Bag cracked on arrival"
    res = client.post(
        reverse("processing:dose_discard", args=[dose.external_id]), {"reason": "cracked"}
    )
    assert res.status_code == 403


def test_qa_finds_the_held_doses_on_the_home_page(
    world: Any, given: Any, qa: Any, web_for: Any
) -> None:
    serious(world, given)
    home = web_for(qa).get(reverse("core:home")).content.decode()
    assert "Doses on hold for QA" in home
    assert all(f"{d.din} {d.product_code}" in home for d in others(world))
