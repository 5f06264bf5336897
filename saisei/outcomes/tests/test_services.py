"""Outcome services: schedules from a course, scoring through the service, credentials, voiding."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from saisei.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from saisei.core.models import AuditEntry, Notification
from saisei.core.tests.factories import OrganisationFactory
from saisei.journey.models import CourseStep
from saisei.outcomes import services
from saisei.outcomes.models import Assessment, ScheduledAssessment
from saisei.outcomes.tests.factories import course_with_steps

TODAY = timezone.localdate()


@pytest.fixture
def physician(org: Any, make_user: Any) -> Any:
    return make_user("physician", org)


@pytest.fixture
def credentialed(physician: Any, org: Any, make_user: Any) -> Any:
    admin = make_user("org_admin", org)
    for code in ("MMSE", "CDR", "MOCA", "NPI-Q"):
        services.credential_record(
            actor=admin,
            user=physician,
            instrument=code,
            kind="licence",
            reference=f"LIC-{code}",
            expires_on=TODAY + dt.timedelta(days=365),
        )
    return physician


@pytest.fixture
def course(org: Any) -> Any:
    return course_with_steps(organisation=org, harvest=TODAY - dt.timedelta(days=200), infusions=3)


def _visits(schedule: Any) -> dict[tuple[str, int], ScheduledAssessment]:
    return {(v.kind, v.number): v for v in schedule.visits.all()}


# --- schedules ------------------------------------------------------------------------------


def test_schedule_has_baseline_before_harvest_each_infusion_and_3_6_12_months(
    physician: Any, course: Any
) -> None:
    s = services.schedule_create(actor=physician, course=course)
    visits = _visits(s)
    harvest = course.steps.get(kind="harvest").planned_date
    infusions = {st.number: st.planned_date for st in course.steps.filter(kind="infusion")}
    assert visits[("baseline", 1)].due_date == harvest - dt.timedelta(days=7)
    assert visits[("baseline", 1)].due_date < harvest
    for n, day in infusions.items():
        assert visits[("pre_infusion", n)].due_date == day
    last = max(infusions.values())
    for months, days in ((3, 91), (6, 183), (12, 365)):
        assert visits[("follow_up", months)].due_date == last + dt.timedelta(days=days)
    assert len(visits) == 1 + 3 + 3
    assert AuditEntry.objects.filter(action="assessment_schedule.create").count() == 1


def test_follow_up_offsets_are_configurable(physician: Any, course: Any) -> None:
    s = services.schedule_create(actor=physician, course=course, follow_up_months=[1, 24])
    assert {n for k, n in _visits(s) if k == "follow_up"} == {1, 24}


@pytest.mark.parametrize("months", [[0], [3, 3], [-6], [1.5]])
def test_impossible_follow_up_offsets_are_refused(
    physician: Any, course: Any, months: list
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.schedule_create(actor=physician, course=course, follow_up_months=months)
    assert "follow_up_months" in exc.value.fields


def test_one_schedule_per_course(physician: Any, course: Any) -> None:
    services.schedule_create(actor=physician, course=course)
    with pytest.raises(Conflict):
        services.schedule_create(actor=physician, course=course)


def test_replan_moves_planned_visits_with_the_steps_and_keeps_done_ones(
    physician: Any, credentialed: Any, course: Any
) -> None:
    s = services.schedule_create(actor=physician, course=course)
    baseline = _visits(s)[("baseline", 1)]
    services.assessment_record(
        actor=credentialed,
        patient=course.patient,
        instrument="MMSE",
        values={"total": 22},
        assessed_on=baseline.due_date,
        visit=baseline,
    )
    step = course.steps.get(kind="infusion", number=3)
    step.planned_date += dt.timedelta(days=14)
    step.save()
    harvest = course.steps.get(kind="harvest")
    harvest.planned_date += dt.timedelta(days=3)
    harvest.save()
    services.schedule_replan(actor=physician, schedule=s)
    visits = _visits(s)
    assert visits[("pre_infusion", 3)].due_date == step.planned_date
    assert visits[("follow_up", 3)].due_date == step.planned_date + dt.timedelta(days=91)
    assert visits[("baseline", 1)].due_date == baseline.due_date  # done: not moved
    assert visits[("baseline", 1)].status == "done"


def test_replan_cancels_the_visit_of_a_cancelled_infusion(physician: Any, course: Any) -> None:
    s = services.schedule_create(actor=physician, course=course)
    course.steps.filter(kind="infusion", number=3).update(status=CourseStep.Status.CANCELLED)
    services.schedule_replan(actor=physician, schedule=s)
    assert _visits(s)[("pre_infusion", 3)].status == "cancelled"


def test_missed_visit_needs_a_reason(physician: Any, course: Any) -> None:
    s = services.schedule_create(actor=physician, course=course)
    v = _visits(s)[("follow_up", 3)]
    with pytest.raises(ValidationFailed):
        services.visit_mark_missed(actor=physician, visit=v, reason=" ")
    services.visit_mark_missed(actor=physician, visit=v, reason="Moved into residential care")
    v.refresh_from_db()
    assert v.status == "missed"


def test_stage_comes_from_the_prescreen_when_known(physician: Any, course: Any) -> None:
    from saisei.journey.models import Prescreen

    Prescreen.objects.create(
        organisation=course.organisation,
        patient=course.patient,
        plan=course.plan,
        outcome="eligible",
        stage="mci",
        staging_scheme="CDR global score",
    )
    schedule = services.schedule_create(actor=physician, course=course)
    assert schedule.stage == ""  # follows the recorded stage rather than copying a guess
    from saisei.outcomes.analysis import patient_outcomes

    assert patient_outcomes(patient=course.patient).stage == "mci_ad"


# --- assessments ----------------------------------------------------------------------------


def test_licensed_instrument_needs_a_recorded_rater_credential(physician: Any, course: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.assessment_record(
            actor=physician,
            patient=course.patient,
            instrument="MMSE",
            values={"total": 24},
            assessed_on=TODAY,
        )
    assert exc.value.code == "outcomes.invalid_score"
    assert "rater" in exc.value.fields


def test_expired_credential_is_refused(org: Any, make_user: Any, course: Any) -> None:
    rater = make_user("nurse", org)
    services.credential_record(
        actor=make_user("org_admin", org),
        user=rater,
        instrument="MOCA",
        kind="certification",
        reference="MOCA-123",
        expires_on=TODAY - dt.timedelta(days=1),
    )
    with pytest.raises(ValidationFailed) as exc:
        services.assessment_record(
            actor=rater,
            patient=course.patient,
            instrument="MOCA",
            values={"total": 20, "education_point": False},
            assessed_on=TODAY,
        )
    assert "expired" in str(exc.value.fields["rater"][0])


def test_scores_are_computed_and_stored_with_the_credential(credentialed: Any, course: Any) -> None:
    values = {
        "memory": 1,
        "orientation": 1,
        "judgement": 0.5,
        "community": 1,
        "home_hobbies": 0.5,
        "personal_care": 0,
        "global": 1,
    }
    a = services.assessment_record(
        actor=credentialed,
        patient=course.patient,
        instrument="CDR",
        values=values,
        assessed_on=TODAY,
    )
    assert a.total == 4.0
    assert a.measures == {"CDR-SB": 4.0, "CDR-GLOBAL": 1.0}
    assert a.rater_credential.reference == "LIC-CDR"


@pytest.mark.parametrize(
    ("instrument", "values", "field"),
    [
        ("MMSE", {"total": 31}, "total"),
        ("MMSE", {"orientation": 11, "total": 20}, "orientation"),
        (
            "CDR",
            {
                "memory": 0.7,
                "orientation": 1,
                "judgement": 1,
                "community": 1,
                "home_hobbies": 1,
                "personal_care": 1,
            },
            "memory",
        ),
        ("NPI-Q", {"total": 2, "distress_total": 20}, "distress_total"),
        ("MOCA", {"total": 18}, "education_point"),
    ],
)
def test_impossible_scores_are_refused_per_field(
    credentialed: Any, course: Any, instrument: str, values: dict, field: str
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.assessment_record(
            actor=credentialed,
            patient=course.patient,
            instrument=instrument,
            values=values,
            assessed_on=TODAY,
        )
    assert field in exc.value.fields
    assert Assessment.objects.count() == 0


def test_future_date_and_unknown_instrument_are_refused(credentialed: Any, course: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        services.assessment_record(
            actor=credentialed,
            patient=course.patient,
            instrument="MMSE",
            values={"total": 20},
            assessed_on=TODAY + dt.timedelta(days=1),
        )
    assert "assessed_on" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.assessment_record(
            actor=credentialed,
            patient=course.patient,
            instrument="SPEEDTEST",
            values={"total": 20},
            assessed_on=TODAY,
        )
    assert "instrument" in exc.value.fields


def test_recording_against_a_visit_marks_it_done_and_voiding_reopens_it(
    credentialed: Any, course: Any
) -> None:
    s = services.schedule_create(actor=credentialed, course=course)
    v = _visits(s)[("baseline", 1)]
    a = services.assessment_record(
        actor=credentialed,
        patient=course.patient,
        instrument="MMSE",
        values={"total": 23},
        assessed_on=v.due_date,
        visit=v,
    )
    v.refresh_from_db()
    assert v.status == "done" and a.course_id == course.pk
    with pytest.raises(ValidationFailed):
        services.assessment_void(actor=credentialed, assessment=a, reason="")
    services.assessment_void(actor=credentialed, assessment=a, reason="Wrong patient's sheet")
    a.refresh_from_db()
    v.refresh_from_db()
    assert a.is_voided and Assessment.objects.filter(pk=a.pk).exists()
    assert v.status == "planned"
    assert AuditEntry.objects.filter(
        action="assessment.void", reason="Wrong patient's sheet"
    ).exists()


def test_other_organisation_patient_is_not_found(credentialed: Any) -> None:
    other = OrganisationFactory(slug="elsewhere")
    c = course_with_steps(organisation=other, harvest=TODAY)
    with pytest.raises(NotFound):
        services.assessment_record(
            actor=credentialed,
            patient=c.patient,
            instrument="FAST",
            values={"stage": "4"},
            assessed_on=TODAY,
        )


def test_committee_reviewer_cannot_record(org: Any, make_user: Any, course: Any) -> None:
    with pytest.raises(Forbidden):
        services.assessment_record(
            actor=make_user("committee_reviewer", org),
            patient=course.patient,
            instrument="FAST",
            values={"stage": "4"},
            assessed_on=TODAY,
        )


def test_portal_diary_is_stored_as_caregiver_report(course: Any) -> None:
    a = services.diary_submit(
        patient=course.patient,
        values={
            "sleep": 2,
            "agitation": 1,
            "evening_confusion": 3,
            "recognition": 0,
            "engagement": 1,
        },
        answered_by="Daughter",
        language="ja",
    )
    assert a.total == 7 and a.source == "portal" and a.rater is None
    with pytest.raises(ValidationFailed) as exc:
        services.diary_submit(
            patient=course.patient, values={"sleep": 4}, answered_by="Daughter", language="en"
        )
    assert "sleep" in exc.value.fields and "agitation" in exc.value.fields


# --- biomarkers and reminders ---------------------------------------------------------------


def test_biomarker_in_another_unit_is_refused(physician: Any, org: Any, course: Any) -> None:
    services.references_seed_defaults(actor=None, organisation=org)
    from saisei.outcomes.models import BiomarkerDefinition

    nfl = BiomarkerDefinition.objects.get(organisation=org, code="NFL")
    r = services.biomarker_record(
        actor=physician,
        patient=course.patient,
        definition=nfl,
        value=21.5,
        collected_on=TODAY,
        unit="pg/mL",
    )
    assert r.unit == "pg/mL"
    with pytest.raises(ValidationFailed) as exc:
        services.biomarker_record(
            actor=physician,
            patient=course.patient,
            definition=nfl,
            value=0.02,
            collected_on=TODAY,
            unit="ng/mL",
        )
    assert "unit" in exc.value.fields


def test_reminders_go_once_to_physicians_and_nurses(
    physician: Any, org: Any, make_user: Any
) -> None:
    nurse = make_user("nurse", org)
    make_user("coordinator", org)
    c = course_with_steps(organisation=org, harvest=TODAY + dt.timedelta(days=10))
    services.schedule_create(actor=physician, course=c)
    sent = services.reminders_send(today=TODAY)
    assert sent == 2  # the baseline, due in 3 days, to one physician and one nurse
    assert services.reminders_send(today=TODAY) == 0
    assert Notification.objects.filter(user=nurse).count() == 1


def test_ending_follow_up_closes_planned_visits_with_the_reason(
    physician: Any, course: Any
) -> None:
    s = services.schedule_create(actor=physician, course=course)
    with pytest.raises(ValidationFailed):
        services.schedule_end_follow_up(actor=physician, schedule=s, ended_on=TODAY, reason="")
    services.schedule_end_follow_up(
        actor=physician, schedule=s, ended_on=TODAY, reason="Moved into residential care"
    )
    statuses = {v.status for v in s.visits.all()}
    assert statuses == {"cancelled"}
    assert all("residential care" in v.status_reason for v in s.visits.all())
    with pytest.raises(Conflict):
        services.schedule_end_follow_up(actor=physician, schedule=s, ended_on=TODAY, reason="x")


def test_moving_a_course_step_moves_the_planned_visits(
    physician: Any, course: Any, django_capture_on_commit_callbacks: Any
) -> None:
    s = services.schedule_create(actor=physician, course=course)
    step = course.steps.get(kind="infusion", number=2)
    with django_capture_on_commit_callbacks(execute=True):
        step.planned_date += dt.timedelta(days=10)
        step.save()
    assert _visits(s)[("pre_infusion", 2)].due_date == step.planned_date
    assert AuditEntry.objects.filter(action="assessment_schedule.replan", actor=None).exists()


# --- due and overdue worklists --------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 2, 100])
def test_due_and_overdue_lists_answer_exactly_with_mixed_windows_and_limits(
    physician: Any, course: Any, chunk: int, monkeypatch: Any
) -> None:
    """The database narrows the rows by the widest and narrowest windows; the answer must be the
    same as testing every planned visit, whatever each visit's own window, and whatever the size
    of the chunks the rows are read in."""
    from saisei.core import selectors as core_selectors
    from saisei.outcomes import selectors
    from saisei.outcomes.selectors import is_overdue

    monkeypatch.setattr(core_selectors, "CHUNK", chunk)
    s = services.schedule_create(actor=physician, course=course)
    visits = list(s.visits.order_by("pk"))
    assert len(visits) >= 6
    layout = [(-40, 60), (-40, 14), (-20, 14), (-3, 7), (5, 14), (10, 90)]
    for v, (offset, window) in zip(visits, layout, strict=False):
        v.due_date = TODAY + dt.timedelta(days=offset)
        v.window_days = window
        v.status = ScheduledAssessment.Status.PLANNED
        v.save()
    planned = list(ScheduledAssessment.objects.filter(schedule=s, status="planned"))
    horizon = TODAY + dt.timedelta(days=14)
    want_due = {v.pk for v in planned if v.due_date <= horizon and not is_overdue(v, today=TODAY)}
    want_overdue = {v.pk for v in planned if v.due_date <= TODAY and is_overdue(v, today=TODAY)}
    due = selectors.visits_due(actor=physician, today=TODAY)
    overdue = selectors.visits_overdue(actor=physician, today=TODAY)
    assert {v.pk for v in due} == want_due
    assert {v.pk for v in overdue} == want_overdue
    assert visits[0].pk in want_due  # 40 days late, but its 60-day window is still open
    assert visits[1].pk in want_overdue
    # A limit keeps the order and stops early.
    assert [v.pk for v in selectors.visits_due(actor=physician, today=TODAY, limit=2)] == [
        v.pk for v in due[:2]
    ]
    assert len(selectors.visits_overdue(actor=physician, today=TODAY, limit=1)) == 1
