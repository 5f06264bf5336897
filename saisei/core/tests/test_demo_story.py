"""The demo tells one true story on whatever day it is loaded (issue 15, item 1).

The demo is loaded with the clock at two different days (a Monday in spring, a Sunday in the
year-end closure) and every rule of the story is checked on the data: acts in the order they
happen, course steps in the state their records say, and on the day of loading the work each
role's tour starts from. Each rule collects what breaks it, so a failure names the record.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from saisei.core.audit import audit_verify
from saisei.core.demo import DEMO_PASSWORD, load_demo
from saisei.core.timezones import TOKYO

DAYS = [
    dt.datetime(2026, 3, 2, 9, 15, tzinfo=TOKYO),  # a Monday morning
    dt.datetime(2027, 1, 3, 22, 40, tzinfo=TOKYO),  # a Sunday night, clinic closed for New Year
]


def _local(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment, TOKYO).date()


def adverse_events_follow_their_act(now: dt.datetime) -> list[str]:
    """An event follows the infusion it is linked to, or the harvest it is judged related to."""
    from saisei.processing.models import Donation
    from saisei.safety.models import AdverseEvent

    problems = []
    for event in AdverseEvent.objects.select_related("administration"):
        if event.aware_at > now or event.onset_date > _local(now):
            problems.append(f"{event}: in the future")
        if event.administration is not None:
            given = event.administration.started_at
            if event.aware_at < given or event.onset_date < _local(given):
                problems.append(f"{event}: before the infusion it follows")
        elif event.related_harvest in ("possible", "probable", "definite"):
            harvests = Donation.objects.filter(patient=event.patient, collected_at__lte=now)
            if not any(_local(d.collected_at) <= event.onset_date for d in harvests):
                problems.append(f"{event}: related to a harvest, but none came before it")
        else:
            problems.append(f"{event}: follows neither an infusion nor a harvest")
    return problems


def assessments_precede_their_infusions(today: dt.date) -> list[str]:
    """A baseline is taken before the harvest, a pre-infusion visit before its infusion, and no
    assessment is dated after today."""
    from saisei.journey.models import CourseStep
    from saisei.outcomes.models import Assessment

    problems = []
    for a in Assessment.objects.filter(voided_at__isnull=True).select_related("visit"):
        if a.assessed_on > today:
            problems.append(f"{a.instrument} of {a.patient_id} on {a.assessed_on}: in the future")
        visit = a.visit
        if visit is None or visit.kind == "follow_up":
            continue
        course = visit.schedule.course
        kind, number = ("harvest", 1) if visit.kind == "baseline" else ("infusion", visit.number)
        step = CourseStep.objects.filter(course=course, kind=kind, number=number).first()
        if step is None or step.planned_date is None:
            problems.append(f"{visit}: no {kind} {number} to come before")
        elif a.assessed_on > step.planned_date:
            problems.append(f"{visit}: assessed {a.assessed_on}, after {kind} {step.planned_date}")
    return problems


def lots_released_before_use(now: dt.datetime) -> list[str]:
    """No dose is thawed or given before its lot's release, no bag frozen before its cells were
    harvested from the culture, and no release is signed in the future."""
    from saisei.processing.models import Dose, Release
    from saisei.treatment.models import Administration

    problems = [
        f"release of {r.lot}: in the future" for r in Release.objects.filter(signed_at__gt=now)
    ]
    for admin in Administration.objects.select_related("dose__lot"):
        release = Release.objects.filter(lot=admin.dose.lot).first()
        if release is None or release.signed_at > admin.started_at:
            problems.append(f"{admin.dose}: given before its lot was released")
    for dose in Dose.objects.filter(thawed_at__isnull=False):
        release = Release.objects.filter(lot=dose.lot).first()
        if release is None or release.signed_at > dose.thawed_at:
            problems.append(f"{dose}: thawed before its lot was released")
    for dose in Dose.objects.filter(cryopreserved_at__isnull=False).select_related("lot"):
        last = dose.lot.steps.order_by("-performed_at").first()
        if last is None or dose.cryopreserved_at < last.performed_at:
            problems.append(f"{dose}: frozen before its culture ended")
    return problems


def course_steps_match_records(now: dt.datetime) -> list[str]:
    """A harvest step is done when a harvest is recorded for its course, an infusion step when
    its administration is, a culture step when the course's lot is released (not before); a
    course is under way only once one of its steps is done."""
    from saisei.journey.models import CourseStep, TreatmentCourse
    from saisei.processing.models import Donation, Release
    from saisei.treatment.models import Administration

    problems = []
    for step in CourseStep.objects.filter(voided_at__isnull=True).select_related("course"):
        done = step.status == "done"
        if done and (step.done_at is None or step.done_at > now):
            problems.append(f"{step}: done at {step.done_at}")
        if step.kind == "harvest":
            recorded = Donation.objects.filter(course=step.course).exists()
        elif step.kind == "infusion":
            recorded = Administration.objects.filter(course_step=step).exists()
        elif step.kind == "culture":
            release = (
                Release.objects.filter(lot__donation__course=step.course)
                .order_by("signed_at")
                .first()
            )
            recorded = release is not None and (not done or release.signed_at <= step.done_at)
            if not done:
                continue  # a released lot may wait for its QC to close the step
        else:
            continue
        if done != recorded:
            problems.append(
                f"{step}: status {step.status}, record {'found' if recorded else 'none'}"
            )
    for course in TreatmentCourse.objects.filter(voided_at__isnull=True):
        any_done = course.steps.filter(status="done").exists()
        if course.status in ("stopped", "completed"):
            continue
        if (course.status == "in_progress") != any_done:
            problems.append(f"{course}: {course.status}, done steps: {any_done}")
    return problems


def load_day_worklists(today: dt.date) -> list[str]:
    """What each role's tour starts from on the day the demo is loaded."""
    from saisei.journey.models import CourseStep, Inquiry
    from saisei.processing.models import Dose, Lot
    from saisei.processing.services import lot_readiness
    from saisei.regulatory.models import Obligation

    problems = []
    due = CourseStep.objects.filter(kind="infusion", planned_date=today, status="scheduled")
    if due.count() != 1:
        problems.append(f"{due.count()} infusions due today, expected one")
    for step in due:
        bags = Dose.objects.filter(
            lot__donation__course=step.course, sequence=step.number, status="released"
        )
        if not bags.exists():
            problems.append(f"{step}: no released bag to give today")
    awaiting = [
        lot
        for lot in Lot.objects.filter(status="qc_pending")
        if lot_readiness(lot=lot).full_release_possible
        and not lot.deviations.exclude(status="closed").exists()
    ]
    if len(awaiting) != 1:
        problems.append(f"{len(awaiting)} clean lots awaiting QA release, expected one")
    if not Inquiry.objects.filter(status="new").exists():
        problems.append("no new inquiry in the queue")
    open_ = Obligation.objects.open()
    if not open_.filter(due_date__gte=today, due_date__lte=today + dt.timedelta(days=6)).exists():
        problems.append("no deadline due this week")
    if not open_.filter(due_date__lt=today).exists():
        problems.append("no overdue deadline")
    return problems


def no_outcome_visit_overdue(today: dt.date) -> list[str]:
    """Every outcome visit past its window was recorded, marked missed or ended with follow-up."""
    from saisei.outcomes.models import ScheduledAssessment

    return [
        f"{v}: due {v.due_date}, still planned"
        for v in ScheduledAssessment.objects.filter(status="planned")
        if v.due_date + dt.timedelta(days=v.window_days) < today
    ]


def cohort_shows_a_trajectory(today: dt.date) -> list[str]:
    """At least five cohort patients have three or more MMSE scores over six months or more."""
    from saisei.outcomes.models import Assessment

    spans: dict[int, list[dt.date]] = {}
    for a in Assessment.objects.filter(instrument="MMSE", voided_at__isnull=True):
        spans.setdefault(a.patient_id, []).append(a.assessed_on)
    followed = [
        p for p, days in spans.items() if len(days) >= 3 and (max(days) - min(days)).days >= 180
    ]
    return [] if len(followed) >= 5 else [f"only {len(followed)} patients with a trajectory"]


def bedside_shows_demo_codes(today: dt.date) -> list[str]:
    """The nurse opens today's infusion and, in demo mode, sees what to scan."""
    from saisei.journey.models import CourseStep
    from saisei.processing.models import Dose

    client = Client()
    assert client.login(username="nurse", password=DEMO_PASSWORD)
    page = client.get(reverse("treatment:today")).content.decode()
    problems = []
    for step in CourseStep.objects.filter(kind="infusion", planned_date=today, status="scheduled"):
        url = reverse("treatment:bedside", args=[step.external_id])
        if url not in page:
            problems.append(f"{step}: not on today's infusions")
        bedside = client.get(url).content.decode()
        dose = Dose.objects.filter(lot__donation__course=step.course, sequence=step.number).first()
        for code in (step.course.patient.patient_code, dose.din if dose else "no bag"):
            if code not in bedside:
                problems.append(f"{step}: the bedside page does not show {code} to scan")
    return problems


@pytest.mark.django_db
@pytest.mark.parametrize("moment", DAYS, ids=lambda m: m.date().isoformat())
def test_the_demo_tells_one_story_on_any_day(moment: dt.datetime, settings: Any, tmp_path: Any):
    settings.MEDIA_ROOT = tmp_path / "media"
    with time_machine.travel(moment, tick=True):
        ctx = load_demo(stdout=io.StringIO())
        now, today = timezone.now(), ctx.today
        assert today == moment.date()
        problems = (
            adverse_events_follow_their_act(now)
            + assessments_precede_their_infusions(today)
            + lots_released_before_use(now)
            + course_steps_match_records(now)
            + load_day_worklists(today)
            + no_outcome_visit_overdue(today)
            + cohort_shows_a_trajectory(today)
            + bedside_shows_demo_codes(today)
        )
    assert problems == []
    assert audit_verify() == []
    _the_rules_can_fail(ctx)


def _the_rules_can_fail(ctx: Any) -> None:
    """Tamper behind the services' back: the release is moved after the bags' thaw and today's
    infusion to yesterday; the rules must see both."""
    from saisei.journey.models import CourseStep
    from saisei.processing.models import Dose, Release

    now = timezone.now()
    Release.objects.filter(lot=ctx.extra["lot"]).update(signed_at=now + dt.timedelta(hours=1))
    Dose.objects.filter(lot=ctx.extra["lot"], sequence=1).update(thawed_at=now)
    step = ctx.extra["infusion_step"]
    CourseStep.objects.filter(pk=step.pk).update(planned_date=ctx.today - dt.timedelta(days=1))
    assert any("thawed before" in p for p in lots_released_before_use(now))
    assert any("release of" in p for p in lots_released_before_use(now))
    assert "0 infusions due today, expected one" in load_day_worklists(ctx.today)
