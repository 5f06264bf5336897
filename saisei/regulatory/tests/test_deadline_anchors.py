"""Deadlines counted from the right day: periodic reports from filing, the CPC's own yearly report.

ASRM Art. 20–21: the yearly periodic report counts from the day the plan was submitted to the
authority (提出した日), not from acceptance. Each authorised processing facility owes its own
yearly report on its manufacturing (別紙様式第8); its period and deadline are configuration (⚠).
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import pytest
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from saisei.core.models import Notification
from saisei.regulatory import services
from saisei.regulatory.models import Obligation, ProcessingFacility, today_tokyo
from saisei.regulatory.rules import (
    DEADLINE_RULES,
    DeadlineConfig,
    facility_report_periods,
    periodic_report_periods,
)

from .conftest import TO_IN_FORCE, make_plan, run

TODAY = today_tokyo()
D = timedelta


# --- the plan's periodic report counts from filing ----------------------------------------------


@pytest.mark.django_db
def test_the_periodic_report_counts_from_filing_not_from_acceptance(officer: Any, registry: Any):
    plan = make_plan(officer, registry)
    v = plan.versions.get()
    run(officer, v, *TO_IN_FORCE[:3], on=TODAY - D(430))  # filed 430 days ago
    run(officer, v, "record_acceptance", on=TODAY - D(380))  # accepted 50 days later
    plan.refresh_from_db()
    first = Obligation.objects.filter(plan=plan, rule_id="PERIODIC-REPORT").order_by("due_date")[0]
    filed = TODAY - D(430)
    assert first.period_start == filed
    assert (first.period_end - first.period_start).days + 1 in (365, 366)
    assert first.due_date == first.period_end + D(90)
    # Counting from acceptance would have put the deadline 50 days later: too late.
    from_acceptance = periodic_report_periods(submitted_date=TODAY - D(380), until=TODAY)[0]
    assert first.due_date < from_acceptance.due_date
    assert "提出した日" in first.source


dates = st.dates(min_value=date(2015, 1, 1), max_value=date(2040, 12, 31))


@settings(max_examples=300)
@given(submitted=dates, wait=st.integers(0, 400), years=st.integers(1, 8))
def test_counting_from_filing_is_never_later_than_from_acceptance(submitted, wait, years):
    accepted = submitted + timedelta(days=wait)
    until = accepted + timedelta(days=365 * years)
    filed = periodic_report_periods(submitted_date=submitted, until=until)
    late = periodic_report_periods(submitted_date=accepted, until=until)
    assert filed[0].start == submitted
    for a, b in zip(filed, late, strict=False):
        assert a.due_date <= b.due_date
        assert a.index == b.index


# --- the processing facility's own yearly report -------------------------------------------------

facility_configs = st.builds(
    DeadlineConfig,
    facility_report_days=st.integers(1, 200),
    facility_report_fiscal_year_start_month=st.one_of(st.none(), st.integers(1, 12)),
    anchor_day_is_day_one=st.booleans(),
)


@settings(max_examples=300)
@given(start=dates, span=st.integers(0, 365 * 10), config=facility_configs)
def test_facility_periods_tile_from_authorisation_with_the_configured_deadline(start, span, config):
    until = start + timedelta(days=span + 1)
    periods = facility_report_periods(authorised_from=start, until=until, config=config)
    first_day = start if config.anchor_day_is_day_one else start + timedelta(days=1)
    assert periods[0].start == first_day
    assert periods[-1].end == until  # the last period stops where the authorisation stops
    for before, after in pairwise(periods):
        assert after.start == before.end + timedelta(days=1)
        assert (before.end - before.start).days < 366
    for p in periods:
        assert p.due_date == p.end + timedelta(days=config.facility_report_days)
        assert p.rule == "FACILITY-YEARLY-REPORT"
        if config.facility_report_fiscal_year_start_month and p is not periods[-1]:
            assert (p.end + timedelta(days=1)).day == 1
            assert (
                p.end + timedelta(days=1)
            ).month == config.facility_report_fiscal_year_start_month


def test_the_facility_rule_says_it_is_uncertain_and_cites_its_form():
    rule = DEADLINE_RULES["FACILITY-YEARLY-REPORT"]
    assert "別紙様式第8" in rule.source and "⚠" in rule.source


def test_a_first_year_facility_has_one_period_ending_on_its_first_anniversary():
    start = date(2026, 3, 10)
    periods = facility_report_periods(authorised_from=start, until=date(2026, 7, 1))
    assert len(periods) == 1 and periods[0].truncated  # running, cut at the horizon asked
    full = facility_report_periods(authorised_from=start, until=date(2027, 3, 9))
    assert (full[0].start, full[0].end, full[0].due_date) == (
        date(2026, 3, 10),
        date(2027, 3, 9),
        date(2027, 6, 7),
    )


@pytest.fixture
def facility(officer: Any, registry: Any, org: Any) -> ProcessingFacility:
    return services.facility_create(
        actor=officer,
        name="Young CPC",
        authorisation="notified",
        facility_number="FC9000001",
        manager_name="Manager",
        valid_from=TODAY - D(100),
    )


@pytest.mark.django_db
def test_a_new_facility_gets_its_first_report_at_once(facility: ProcessingFacility):
    obs = list(Obligation.objects.filter(facility=facility))
    assert len(obs) == 1
    ob = obs[0]
    assert ob.plan is None and ob.kind == "facility_report" and ob.recipient == "ministry"
    assert ob.period_start == TODAY - D(100)
    anniversary = (TODAY - D(100)).replace(year=(TODAY - D(100)).year + 1) - D(1)
    assert ob.period_end == anniversary and ob.due_date == anniversary + D(90)
    services.obligations_refresh_all()
    assert Obligation.objects.filter(facility=facility).count() == 1  # idempotent


@pytest.mark.django_db
def test_every_authorised_facility_gets_its_reports_and_none_are_lost(
    officer: Any, org: Any
) -> None:
    old = services.facility_create(
        actor=officer,
        name="Old CPC",
        authorisation="notified",
        facility_number="FC9000002",
        manager_name="M",
        valid_from=TODAY - D(800),
    )
    assert Obligation.objects.filter(facility=old).count() == 3  # two years done, one running
    future = services.facility_create(
        actor=officer,
        name="Future CPC",
        authorisation="notified",
        facility_number="FC9000003",
        manager_name="M",
        valid_from=TODAY + D(30),
    )
    assert not Obligation.objects.filter(facility=future).exists()
    # Withdrawn 10 days ago: the last period stops then and is still reported; none vanish.
    services.facility_authorisation_end(
        actor=officer,
        record=old.authorisations.get(),
        ended_on=TODAY - D(10),
        reason="withdrawn",
        note="closed",
    )
    obs = list(Obligation.objects.filter(facility=old).order_by("period_start"))
    assert len(obs) == 3 and obs[-1].period_end == TODAY - D(10)
    assert obs[-1].due_date == TODAY - D(10) + D(90)


@pytest.mark.django_db
def test_the_deadline_is_configurable(officer: Any, settings: Any) -> None:
    settings.SAISEI_REGULATORY_DEADLINES = {"facility_report_days": 30}
    f = services.facility_create(
        actor=officer,
        name="CPC",
        authorisation="notified",
        facility_number="FC9000004",
        manager_name="M",
        valid_from=TODAY - D(10),
    )
    ob = Obligation.objects.get(facility=f)
    assert ob.due_date == ob.period_end + D(30)


@pytest.mark.django_db
def test_the_dashboard_shows_each_facility_report_and_what_cannot_be_scheduled(
    officer: Any, facility: ProcessingFacility, web_for: Any, org: Any
) -> None:
    from .factories import FacilityFactory

    FacilityFactory(organisation=org, name="No-date CPC", valid_from=None)
    page = web_for(officer).get(reverse("regulatory:dashboard")).content.decode()
    assert "Young CPC" in page
    ob = Obligation.objects.get(facility=facility)
    assert ob.due_date.isoformat() in page
    assert "No-date CPC" in page and "Cannot be scheduled" in page
    page_ja = (
        web_for(officer)
        .get(reverse("regulatory:dashboard"), HTTP_ACCEPT_LANGUAGE="ja")
        .content.decode()
    )
    assert "別紙様式第8" in page_ja


@pytest.mark.django_db
def test_a_facility_report_due_soon_is_listed_reminded_and_closed_like_any_other(
    officer: Any, org: Any, web_for: Any, api_for: Any
) -> None:
    f = services.facility_create(
        actor=officer,
        name="Due CPC",
        authorisation="notified",
        facility_number="FC9000005",
        manager_name="M",
        valid_from=TODAY - D(365 + 80),  # first year ended 80 days ago: due in 10 days
    )
    ob = Obligation.objects.get(facility=f, period_end=TODAY - D(81))
    assert ob.due_date == TODAY + D(9)
    page = web_for(officer).get(reverse("regulatory:dashboard")).content.decode()
    assert reverse("regulatory:obligation_done", args=[ob.external_id]) in page
    assert services.obligation_reminders_send() > 0
    note = Notification.objects.filter(user=officer, dedupe_key__contains=str(ob.external_id))
    assert note.exists() and "Due CPC" in note.first().body
    listed = api_for(officer).get("/regulatory/obligations", status="open").json()["items"]
    row = next(i for i in listed if i["external_id"] == str(ob.external_id))
    assert row["plan"] is None and row["facility"]["name"] == "Due CPC"
    res = api_for(officer).post(
        f"/regulatory/obligations/{ob.external_id}/done",
        {"submitted_date": TODAY.isoformat(), "evidence": "様式第8 receipt 42"},
    )
    assert res.status_code == 200, res.content
    res = web_for(officer).get(reverse("regulatory:obligation_done", args=[ob.external_id]))
    assert res.status_code == 200 and "Due CPC" in res.content.decode()


@pytest.mark.django_db
def test_obligation_belongs_to_a_plan_or_a_facility_never_both(
    officer: Any, registry: Any, facility: ProcessingFacility
) -> None:
    from django.db import IntegrityError, transaction

    plan = make_plan(officer, registry)
    ob = Obligation.objects.get(facility=facility)
    ob.plan = plan
    with pytest.raises(IntegrityError), transaction.atomic():
        ob.save()
