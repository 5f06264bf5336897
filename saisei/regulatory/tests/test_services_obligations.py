"""The deadline engine: obligations appear once, with the rule's due date, and are never lost."""

from __future__ import annotations

import datetime as dt

import pytest

from saisei.core.errors import DomainError, Forbidden, NotFound
from saisei.core.models import Notification
from saisei.regulatory import services
from saisei.regulatory.models import Obligation, today_tokyo

from .conftest import plan_in_force, run

pytestmark = pytest.mark.django_db
TODAY = today_tokyo()
D = dt.timedelta
AE = ("safety.adverseevent", "ae-1")


@pytest.fixture
def plan(officer, registry):
    return plan_in_force(officer, registry, on=TODAY - D(400))


def test_periodic_reports_run_yearly_from_filing_and_are_due_90_days_after(plan):
    obs = list(Obligation.objects.filter(plan=plan, rule_id="PERIODIC-REPORT").order_by("due_date"))
    accepted = TODAY - D(400)
    assert len(obs) == 2  # the finished first year and the running second one
    first = obs[0]
    assert first.period_start == accepted
    assert first.due_date == first.period_end + D(90)
    assert first.recipient == "ministry" and "Art. 20" in first.source


def test_refreshing_again_never_duplicates(officer, plan):
    services.obligations_refresh_all()
    before = Obligation.objects.count()
    services.periodic_obligations_refresh(actor=officer, plan=plan)
    services.obligations_refresh_all()
    assert Obligation.objects.count() == before


def test_death_creates_7_day_reports_to_committee_and_ministry_and_a_processor_notice(
    officer, plan
):
    aware = TODAY - D(1)
    obs = services.obligations_for_adverse_event(
        actor=officer, plan=plan, subject=AE, seriousness="death", aware_date=aware
    )
    by_rule = {o.rule_id: o for o in obs}
    assert by_rule["AE-COMMITTEE-7D"].due_date == aware + D(7)
    assert by_rule["AE-MINISTRY-7D"].due_date == aware + D(7)
    assert "AE-FACILITY-PROMPT" in by_rule
    assert all(o.subject_type == AE[0] and o.subject_id == AE[1] for o in obs)
    again = services.obligations_for_adverse_event(
        actor=officer, plan=plan, subject=AE, seriousness="death", aware_date=aware
    )
    assert {o.pk for o in again} == {o.pk for o in obs}


def test_serious_event_is_due_in_15_days(officer, plan):
    obs = services.obligations_for_adverse_event(
        actor=officer, plan=plan, subject=AE, seriousness="hospitalisation", aware_date=TODAY
    )
    assert {o.rule_id: o.due_date for o in obs}["AE-COMMITTEE-15D"] == TODAY + D(15)


def test_non_serious_events_in_one_60_day_window_share_one_batch_report(officer, plan):
    a = services.obligations_for_adverse_event(
        actor=officer,
        plan=plan,
        subject=("safety.adverseevent", "a"),
        seriousness="non_serious",
        aware_date=TODAY,
    )
    b = services.obligations_for_adverse_event(
        actor=officer,
        plan=plan,
        subject=("safety.adverseevent", "b"),
        seriousness="non_serious",
        aware_date=TODAY,
    )
    batch_a = next(o for o in a if o.rule_id == "AE-COMMITTEE-60D-BATCH")
    batch_b = next(o for o in b if o.rule_id == "AE-COMMITTEE-60D-BATCH")
    assert batch_a.pk == batch_b.pk
    assert batch_a.due_date == batch_a.period_end + D(10)
    assert (batch_a.period_end - batch_a.period_start).days == 59


def test_unknown_seriousness_is_refused(officer, plan):
    with pytest.raises(DomainError) as exc:
        services.obligations_for_adverse_event(
            actor=officer, plan=plan, subject=AE, seriousness="bad", aware_date=TODAY
        )
    assert exc.value.code == "deadline.invalid_seriousness"


def test_other_organisation_cannot_create_obligations(plan, make_user, other_org):
    with pytest.raises(NotFound):
        services.obligations_for_adverse_event(
            actor=make_user("physician", other_org),
            plan=plan,
            subject=AE,
            seriousness="death",
            aware_date=TODAY,
        )


def test_mark_done_needs_evidence_and_keeps_the_record(officer, plan):
    ob = Obligation.objects.filter(plan=plan).first()
    with pytest.raises(DomainError) as exc:
        services.obligation_mark_done(
            actor=officer, obligation=ob, submitted_date=TODAY, evidence=" "
        )
    assert exc.value.code == "obligation.evidence_required"
    services.obligation_mark_done(
        actor=officer, obligation=ob, submitted_date=TODAY, evidence="e-再生医療 receipt 123"
    )
    ob.refresh_from_db()
    assert ob.status == "done" and ob.effective_status() == "done" and ob.done_by == officer
    with pytest.raises(DomainError):
        services.obligation_mark_done(
            actor=officer, obligation=ob, submitted_date=TODAY, evidence="x"
        )


def test_committee_reviewer_cannot_mark_done(plan, make_user, org):
    ob = Obligation.objects.filter(plan=plan).first()
    with pytest.raises(Forbidden):
        services.obligation_mark_done(
            actor=make_user("committee_reviewer", org),
            obligation=ob,
            submitted_date=TODAY,
            evidence="x",
        )


def test_void_keeps_the_row_with_a_reason(officer, plan):
    ob = Obligation.objects.filter(plan=plan).first()
    with pytest.raises(DomainError):
        services.obligation_void(actor=officer, obligation=ob, reason="")
    services.obligation_void(actor=officer, obligation=ob, reason="entered twice")
    assert Obligation.objects.filter(pk=ob.pk, voided_at__isnull=False).exists()


def test_reminders_go_out_once_per_lead_time_and_daily_when_overdue(officer, admin, plan, settings):
    settings.SAISEI_REGULATORY_REMINDER_DAYS = [7, 0]
    services.obligations_for_adverse_event(
        actor=officer, plan=plan, subject=AE, seriousness="death", aware_date=TODAY - D(1)
    )
    sent = services.obligation_reminders_send()
    assert sent > 0
    assert Notification.objects.filter(user=officer).exists()
    assert Notification.objects.filter(user=admin).exists()
    assert services.obligation_reminders_send() == 0  # deduplicated
    overdue_day = TODAY + D(30)
    assert services.obligation_reminders_send(today=overdue_day) > 0
    assert services.obligation_reminders_send(today=overdue_day) == 0
    assert Notification.objects.filter(subject__startswith="Overdue").exists()


def test_discontinued_plan_keeps_periodic_reports_until_follow_up_ends(officer, admin, plan):
    run(admin, plan.versions.get(), "discontinue", on=TODAY - D(5))
    services.plan_follow_up_end_set(actor=officer, plan=plan, follow_up_end_date=TODAY + D(400))
    periodic = Obligation.objects.filter(plan=plan, rule_id="PERIODIC-REPORT")
    assert periodic.count() == 2
    assert Obligation.objects.open().filter(plan=plan, kind="discontinuation").count() == 2


def test_daily_command_sends_reminders_once(officer, plan, capsys):
    from django.core.management import call_command

    services.obligations_for_adverse_event(
        actor=officer, plan=plan, subject=AE, seriousness="death", aware_date=TODAY
    )
    call_command("regulatory_daily")
    first = Notification.objects.count()
    call_command("regulatory_daily")
    assert first > 0 and Notification.objects.count() == first
    assert "reminders sent" in capsys.readouterr().out


def test_daily_task_runs(officer, plan):
    from saisei.regulatory import tasks

    services.obligations_for_adverse_event(
        actor=officer, plan=plan, subject=AE, seriousness="death", aware_date=TODAY
    )
    assert tasks.send_obligation_reminders.call() > 0


def test_ministry_reports_can_be_switched_off_by_configuration(officer, plan, settings):
    settings.SAISEI_REGULATORY_DEADLINES = {"report_adverse_events_to_ministry": False}
    obs = services.obligations_for_adverse_event(
        actor=officer, plan=plan, subject=AE, seriousness="death", aware_date=TODAY
    )
    assert {o.recipient for o in obs} == {"committee", "processing_facility"}


def test_deadlines_to_the_ministry_can_roll_past_closed_days(officer, plan, settings):
    settings.SAISEI_REGULATORY_DEADLINES = {"roll_forward_recipients": ["ministry"]}
    saturday = dt.date(2026, 10, 24) - D(7)  # aware on a Saturday: day 7 is a Saturday too
    obs = services.obligations_for_adverse_event(
        actor=officer, plan=plan, subject=AE, seriousness="death", aware_date=saturday
    )
    due = {o.recipient: o.due_date for o in obs}
    assert due["committee"] == saturday + D(7)
    assert due["ministry"] == saturday + D(9)  # moved to Monday


def test_an_event_under_a_plan_never_filed_still_owes_its_reports(officer, registry):
    """A missing filing date never drops an event's reports: the strictest window applies."""
    from .conftest import make_plan

    draft = make_plan(officer, registry)
    aware = today_tokyo()
    obs = services.obligations_for_adverse_event(
        actor=officer,
        plan=draft,
        subject=("safety.adverseevent", "draft-1"),
        seriousness="non_serious",
        aware_date=aware,
    )
    batch = next(o for o in obs if o.rule_id == "AE-COMMITTEE-60D-BATCH")
    assert batch.period_end == aware and batch.plan == draft


def test_reports_with_no_plan_need_the_organisation_and_list_without_a_plan(officer, org, api_for):
    with pytest.raises(DomainError):
        services.obligations_for_adverse_event(
            actor=officer,
            plan=None,
            subject=("safety.adverseevent", "x"),
            seriousness="death",
            aware_date=today_tokyo(),
        )
    obs = services.obligations_for_adverse_event(
        actor=officer,
        plan=None,
        organisation=org,
        subject=("safety.adverseevent", "x"),
        seriousness="death",
        aware_date=today_tokyo(),
    )
    assert {o.recipient for o in obs} == {"committee", "ministry", "processing_facility"}
    items = api_for(officer).get("/regulatory/obligations").json()["items"]
    assert items and all(i["plan"] is None for i in items)
