"""Adverse events: clocks start at once for serious events, the right people hear of it, portal
reports are never lost, and a lot's other doses are found."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from saisei.core.errors import Conflict, Forbidden, ValidationFailed
from saisei.core.models import Notification
from saisei.core.tests.factories import TEST_PASSWORD
from saisei.core.timezones import TOKYO
from saisei.regulatory.models import Obligation
from saisei.safety import reports, selectors, services
from saisei.safety.models import AdverseEvent, PatientReport
from saisei.safety.tests.factories import AdverseEventFactory, PatientReportFactory
from saisei.treatment import services as treatment_services
from saisei.treatment.tests.factories import make_world

pytestmark = pytest.mark.django_db


def last_friday_evening() -> dt.datetime:
    today = timezone.localdate(timezone=TOKYO)
    friday = today - dt.timedelta(days=(today.weekday() - 4) % 7 or 7)
    return dt.datetime.combine(friday, dt.time(21, 30), TOKYO)


@pytest.fixture
def world(org):
    return make_world(org)


@pytest.fixture
def given(world):
    """Infusion 1 given, so events can be linked to an administration, dose and lot."""
    v = treatment_services.bedside_verify(
        actor=world.nurse,
        patient_scan=world.wristband,
        product_scans=[world.labels[0]],
        course_step=world.steps[0],
        route="iv",
    )
    return treatment_services.administration_record(
        actor=world.nurse,
        verification=v,
        second_person=world.nurse2,
        second_person_password=TEST_PASSWORD,
        physician=world.physician_user,
    )


@pytest.fixture
def officer(make_user, org):
    return make_user("compliance_officer", org)


@pytest.fixture
def qa(make_user, org):
    return make_user("qa_manager", org)


def record(world, **kw):
    return AdverseEventFactory(actor=world.physician_user, patient=world.patient, **kw)


def test_a_serious_event_on_friday_evening_is_due_at_the_committee_seven_days_later(
    world, given, officer, qa
):
    aware = last_friday_evening()
    event = record(
        world,
        administration=given,
        aware_at=aware,
        severity_grade=4,
        life_threatening=True,
        related_cells="possible",
    )
    dues = {
        o.recipient: o.due_date
        for o in Obligation.objects.filter(subject_id=str(event.external_id))
    }
    friday = aware.date()
    # Civil Code Art. 140: the day of awareness is not counted; Reg. Art. 35: 7 days.
    assert dues["committee"] == friday + dt.timedelta(days=7)
    assert dues["committee"].weekday() == 4
    assert dues["ministry"] == friday + dt.timedelta(days=7)
    assert "processing_facility" in dues
    # The physician who gave it, the compliance officer and QA are told at once.
    told = set(
        Notification.objects.filter(level="danger", subject__contains=event.number).values_list(
            "user_id", flat=True
        )
    )
    assert {world.physician_user.pk, officer.pk, qa.pk} <= told


def test_a_hospitalisation_is_due_in_fifteen_days_even_if_that_is_a_weekend(world, given):
    aware = last_friday_evening()
    event = record(
        world, administration=given, aware_at=aware, severity_grade=3, hospitalisation=True
    )
    committee = Obligation.objects.get(subject_id=str(event.external_id), recipient="committee")
    assert committee.due_date == aware.date() + dt.timedelta(days=15)
    assert event.reporting_level == "hospitalisation"


def test_a_late_friday_event_counts_from_the_japanese_date(world):
    # 23:30 in Tokyo is still Friday there although servers in UTC may see another day.
    aware = last_friday_evening().replace(hour=23, minute=30)
    event = record(world, aware_at=aware, death=True, severity_grade=5)
    committee = Obligation.objects.get(subject_id=str(event.external_id), recipient="committee")
    assert committee.due_date == aware.date() + dt.timedelta(days=7)
    assert committee.rule_id == "AE-COMMITTEE-7D"


def test_a_non_serious_unrelated_event_starts_no_clock(world):
    event = record(world, term="Bruising", severity_grade=1, related_harvest="not_related")
    assert not event.serious
    assert not Obligation.objects.filter(subject_id=str(event.external_id)).exists()


def test_a_non_serious_suspected_event_joins_the_60_day_batch(world):
    record(world, term="Fever", vocabulary_code="fever", severity_grade=1, related_cells="probable")
    assert Obligation.objects.filter(rule_id="AE-COMMITTEE-60D-BATCH").count() == 1


def test_grade_5_must_be_a_death(world):
    with pytest.raises(ValidationFailed) as exc:
        record(world, severity_grade=5)
    assert "death" in exc.value.fields


def test_an_unknown_vocabulary_term_is_refused(world):
    with pytest.raises(ValidationFailed):
        record(world, vocabulary_code="not-a-term")


def test_becoming_serious_later_starts_the_clock_then(world):
    event = record(world, term="Dyspnoea", severity_grade=2, related_cells="possible")
    services.adverse_event_update(
        actor=world.physician_user, event=event, hospitalisation=True, severity_grade=3
    )
    assert Obligation.objects.filter(
        subject_id=str(event.external_id), rule_id="AE-COMMITTEE-15D"
    ).exists()


def test_a_nurse_records_but_a_reviewer_cannot(world, make_user, org):
    event = services.adverse_event_record(
        actor=world.nurse,
        patient=world.patient,
        term="Fever",
        onset_date=timezone.localdate(),
        severity_grade=1,
    )
    assert event.assessed_by is None
    with pytest.raises(Forbidden):
        services.adverse_event_record(
            actor=make_user("committee_reviewer", org),
            patient=world.patient,
            term="Fever",
            onset_date=timezone.localdate(),
            severity_grade=1,
        )


def test_event_numbers_are_sequential_per_year(world):
    a = record(world, severity_grade=1, term="Fever")
    b = record(world, severity_grade=1, term="Headache")
    assert a.number.endswith("0001") and b.number.endswith("0002")


def test_a_serious_event_linked_to_a_lot_holds_every_other_dose_and_shows_where_it_is(
    world, given, make_user, org
):
    cpc = make_user("cpc_technician", org)
    event = record(world, administration=given, death=True, severity_grade=5)
    alert = Notification.objects.get(user=cpc, subject__startswith="Serious adverse event")
    assert "2 other doses; 2 unused ones were put on hold" in alert.body
    hold = Notification.objects.get(user=cpc, subject__contains="are on hold after")
    assert event.number in hold.subject
    impact = reports.lot_impact(event=event)
    assert [d["sequence"] for d in impact] == [2, 3]
    assert all(d["status"] == "on_hold" for d in impact)
    assert all(d["where"] for d in impact)


def test_a_portal_report_is_saved_and_reaches_the_triage_queue(world):
    report = PatientReportFactory(patient=world.patient, reporter_name="Wei Lee")
    queue = list(selectors.triage_queue(actor=world.nurse))
    assert queue == [report]
    assert Notification.objects.filter(
        user=world.nurse, subject__contains=world.patient.patient_code
    ).exists()


def test_a_portal_report_survives_a_failing_alert(world, monkeypatch):
    def boom(report):
        raise RuntimeError("mail server down")

    monkeypatch.setattr(services, "_alert_triage", boom)
    report = PatientReportFactory(
        patient=world.patient, reporter="patient", description="Dizzy", how_bad="mild"
    )
    assert PatientReport.objects.filter(pk=report.pk, status="new").exists()


def test_triage_turns_a_report_into_an_event_once(world):
    report = services.patient_report_submit(
        patient=world.patient,
        reporter="patient",
        description="Chest pain and short of breath",
        how_bad="emergency",
    )
    services.patient_report_triage(
        actor=world.physician_user,
        report=report,
        decision="adverse_event",
        event_fields={
            "term": "Chest pain",
            "severity_grade": 3,
            "hospitalisation": True,
            "related_cells": "possible",
        },
    )
    report.refresh_from_db()
    assert report.status == "adverse_event"
    event = report.adverse_event
    assert event.source == "portal"
    assert event.aware_at == report.submitted_at
    assert Obligation.objects.filter(
        subject_id=str(event.external_id), recipient="committee"
    ).exists()
    with pytest.raises(Conflict):
        services.patient_report_triage(
            actor=world.physician_user, report=report, decision="not_adverse_event", note="dup"
        )
    assert not list(selectors.triage_queue(actor=world.nurse))


def test_closing_a_report_needs_a_reason(world):
    report = services.patient_report_submit(
        patient=world.patient, reporter="patient", description="Bruise", how_bad="mild"
    )
    with pytest.raises(ValidationFailed):
        services.patient_report_triage(
            actor=world.nurse, report=report, decision="not_adverse_event"
        )


def test_sending_a_report_is_recorded_and_closes_its_obligation(world, given, officer):
    event = record(world, administration=given, death=True, severity_grade=5)
    committee = Obligation.objects.get(subject_id=str(event.external_id), recipient="committee")
    pdf = reports.adverse_event_report_pdf(event=event, language="ja")
    submission = services.report_submission_record(
        actor=officer,
        event=event,
        recipient="committee",
        channel="e-mail to committee secretariat",
        reference="REC-123",
        obligation=committee,
        document=pdf,
    )
    committee.refresh_from_db()
    assert committee.status == "done"
    assert submission.document_sha256 and submission.data["event_number"] == event.number
    assert [s.pk for s in selectors.submission_list(actor=officer, event=event)] == [submission.pk]


def test_clocks_show_hours_and_days_left_and_overdue(world):
    event = record(
        world, death=True, severity_grade=5, aware_at=timezone.now() - dt.timedelta(days=9)
    )
    events = selectors.attach_clocks([AdverseEvent.objects.get(pk=event.pk)])
    committee = next(c for c in events[0].clocks if c.recipient == "committee")
    assert committee.overdue and committee.days_left < 0
    fresh = record(world, death=True, severity_grade=5, term="Death")
    clocks = selectors.attach_clocks([fresh])[0].clocks
    c = next(c for c in clocks if c.recipient == "committee")
    assert not c.overdue and 6 <= c.days_left <= 7 and c.hours_left > 24 * 6


def test_report_data_and_pdf_in_both_languages(world, given):
    event = record(world, administration=given, hospitalisation=True, severity_grade=3)
    services.adverse_event_follow_up(
        actor=world.physician_user, event=event, note="Discharged", outcome="recovered"
    )
    data = reports.adverse_event_report_data(event=event)
    assert data["event"]["seriousness_criteria"] == ["hospitalisation"]
    assert data["treatment"]["lot"] == world.lot.number
    assert data["follow_ups"][0]["note"] == "Discharged"
    for lang in ("ja", "en"):
        pdf = reports.adverse_event_report_pdf(event=event, language=lang)
        assert pdf.startswith(b"%PDF")


# --- an event that no plan covers --------------------------------------------------------------


@pytest.fixture
def planless(org):
    """A patient no plan covers: no course, no harvest, no administration."""
    from saisei.journey.tests.factories import PatientFactory

    return PatientFactory(organisation=org)


def test_a_serious_event_with_no_plan_still_owes_every_report_with_a_warning(
    world, planless, officer
):
    aware = last_friday_evening()
    event = services.adverse_event_record(
        actor=world.physician_user,
        patient=planless,
        term="Sepsis",
        onset_date=aware.date(),
        severity_grade=4,
        aware_at=aware,
        life_threatening=True,
    )
    assert event.plan is None
    obligations = Obligation.objects.filter(subject_id=str(event.external_id))
    dues = {o.recipient: o.due_date for o in obligations}
    # Unknown risk class: the ministry report is included; the days are the 7-day ones.
    assert dues["committee"] == aware.date() + dt.timedelta(days=7)
    assert dues["ministry"] == aware.date() + dt.timedelta(days=7)
    assert "processing_facility" in dues
    assert all(
        o.plan_id is None and o.organisation_id == planless.organisation_id for o in obligations
    )
    warning = Notification.objects.get(user=officer, subject__contains="no provision plan")
    assert planless.patient_code in warning.body
    assert "still owed" in services.no_plan_warning(event)


def test_a_suspected_event_with_no_plan_is_due_on_the_strictest_batch_clock(world, planless):
    today = timezone.localdate(timezone=TOKYO)
    event = services.adverse_event_record(
        actor=world.physician_user,
        patient=planless,
        term="Fever",
        onset_date=today,
        severity_grade=1,
        related_cells="possible",
    )
    batch = Obligation.objects.get(
        subject_id=str(event.external_id), rule_id="AE-COMMITTEE-60D-BATCH"
    )
    # The window closes on the day staff became aware; any plan's window would close later.
    assert batch.period_end == today and batch.due_date <= today + dt.timedelta(days=14)
    assert batch.plan is None


def test_an_event_of_a_patient_harvested_under_a_plan_finds_that_plan(world):
    """No course needed: the harvest's plan is the plan the event happened under."""
    from saisei.journey.models import TreatmentCourse

    TreatmentCourse.objects.filter(pk=world.course.pk).update(voided_at=timezone.now())
    event = record(world, hospitalisation=True, severity_grade=3)
    assert event.plan == world.plan


def test_the_api_and_page_show_the_no_plan_warning(world, planless, api_for, web_for):
    event = services.adverse_event_record(
        actor=world.physician_user,
        patient=planless,
        term="Sepsis",
        onset_date=timezone.localdate(timezone=TOKYO),
        severity_grade=4,
        hospitalisation=True,
    )
    res = api_for(world.physician_user).get(f"/safety/events/{event.external_id}")
    assert res.status_code == 200, res.content
    out = res.json()
    assert out["warnings"] and planless.patient_code in out["warnings"][0]
    assert {c["recipient"] for c in out["clocks"]} >= {"committee", "ministry"}
    page = web_for(world.physician_user).get(f"/safety/events/{event.external_id}/")
    assert "no-plan-warning" in page.content.decode()
