"""Reporting deadlines: every rule, calendar edges, and the day-counting convention."""

from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saisei.core.catalogues import translations
from saisei.core.errors import DomainError
from saisei.regulatory.rules import (
    DEADLINE_RULES,
    DeadlineConfig,
    Recipient,
    Seriousness,
    change_notice_due,
    class1_first_provision_day,
    discontinuation_notice_due,
    periodic_report_periods,
    reporting_clock,
    sixty_day_window,
)
from saisei.regulatory.rules.deadlines import is_administrative_holiday

MESSAGES_JA = translations("regulatory", "ja")


PLAN_SUBMITTED = date(2025, 4, 1)
ROLL_MINISTRY = DeadlineConfig(roll_forward_recipients=frozenset({Recipient.MINISTRY}))


def by_rule(dues):
    return {d.rule: d.due_date for d in dues}


# --- adverse events -------------------------------------------------------------------------


def test_a_death_is_due_to_committee_and_ministry_seven_days_after_awareness():
    """The 2025 death case: treatment and awareness 08-20, reported 08-27, exactly on time."""
    dues = reporting_clock(
        seriousness="death", aware_date=date(2025, 8, 20), plan_submitted_date=PLAN_SUBMITTED
    )
    assert by_rule(dues) == {
        "AE-COMMITTEE-7D": date(2025, 8, 27),
        "AE-MINISTRY-7D": date(2025, 8, 27),
        "AE-FACILITY-PROMPT": date(2025, 8, 23),
    }


def test_a_life_threatening_case_has_the_same_seven_days():
    dues = reporting_clock(
        seriousness=Seriousness.LIFE_THREATENING,
        aware_date=date(2025, 8, 20),
        plan_submitted_date=PLAN_SUBMITTED,
    )
    assert by_rule(dues)["AE-COMMITTEE-7D"] == date(2025, 8, 27)


@pytest.mark.parametrize(
    "seriousness", ["hospitalisation", "disability", "congenital_anomaly", "other_serious"]
)
def test_serious_events_are_due_fifteen_days_after_awareness_across_a_month_end(seriousness):
    dues = reporting_clock(
        seriousness=seriousness, aware_date=date(2025, 1, 31), plan_submitted_date=PLAN_SUBMITTED
    )
    assert by_rule(dues)["AE-COMMITTEE-15D"] == date(2025, 2, 15)
    assert by_rule(dues)["AE-MINISTRY-15D"] == date(2025, 2, 15)


@pytest.mark.parametrize(
    ("aware", "due"), [(date(2024, 2, 25), date(2024, 3, 3)), (date(2023, 2, 25), date(2023, 3, 4))]
)
def test_day_counting_knows_leap_years(aware, due):
    dues = reporting_clock(
        seriousness="death", aware_date=aware, plan_submitted_date=date(2023, 1, 1)
    )
    assert by_rule(dues)["AE-COMMITTEE-7D"] == due


def test_day_one_is_the_day_after_awareness_unless_configured_otherwise():
    aware = date(2025, 8, 20)
    default = reporting_clock(
        seriousness="death", aware_date=aware, plan_submitted_date=PLAN_SUBMITTED
    )
    inclusive = reporting_clock(
        seriousness="death",
        aware_date=aware,
        plan_submitted_date=PLAN_SUBMITTED,
        config=DeadlineConfig(count_first_day=True),
    )
    assert by_rule(default)["AE-COMMITTEE-7D"] - aware == timedelta(days=7)
    assert by_rule(inclusive)["AE-COMMITTEE-7D"] - aware == timedelta(days=6)


def test_a_non_serious_event_is_batched_into_its_sixty_day_window_and_due_ten_days_after():
    dues = reporting_clock(
        seriousness="non_serious", aware_date=date(2025, 5, 30), plan_submitted_date=PLAN_SUBMITTED
    )
    # Window 0 is 2025-04-01..2025-05-30; its report is due 10 days later.
    assert by_rule(dues) == {
        "AE-COMMITTEE-60D-BATCH": date(2025, 6, 9),
        "AE-FACILITY-PROMPT": date(2025, 6, 2),
    }
    assert all(d.recipient is not Recipient.MINISTRY for d in dues)


def test_ministry_reports_can_be_switched_off_while_the_sheet_marks_them_uncertain():
    dues = reporting_clock(
        seriousness="death",
        aware_date=date(2025, 8, 20),
        plan_submitted_date=PLAN_SUBMITTED,
        config=DeadlineConfig(report_adverse_events_to_ministry=False),
    )
    assert "AE-MINISTRY-7D" not in by_rule(dues)


def test_ministry_reports_can_be_limited_to_some_risk_classes():
    config = DeadlineConfig(ministry_report_risk_classes=frozenset({1, 2}))
    kwargs = {
        "seriousness": "death",
        "aware_date": date(2025, 8, 20),
        "plan_submitted_date": PLAN_SUBMITTED,
        "config": config,
    }
    assert "AE-MINISTRY-7D" not in by_rule(reporting_clock(**kwargs, risk_class=3))
    assert "AE-MINISTRY-7D" in by_rule(reporting_clock(**kwargs, risk_class=2))


def test_the_processing_facility_target_is_configurable():
    dues = reporting_clock(
        seriousness="other_serious",
        aware_date=date(2025, 8, 20),
        plan_submitted_date=PLAN_SUBMITTED,
        config=DeadlineConfig(processing_facility_notice_days=1),
    )
    assert by_rule(dues)["AE-FACILITY-PROMPT"] == date(2025, 8, 21)


def test_items_are_sorted_by_due_date_and_serialise_to_the_documented_shape():
    dues = reporting_clock(
        seriousness="death", aware_date=date(2025, 8, 20), plan_submitted_date=PLAN_SUBMITTED
    )
    assert [d.due_date for d in dues] == sorted(d.due_date for d in dues)
    assert dues[0].as_dict() == {
        "recipient": "processing_facility",
        "due_date": date(2025, 8, 23),
        "rule": "AE-FACILITY-PROMPT",
        "source": DEADLINE_RULES["AE-FACILITY-PROMPT"].source,
    }


def test_unknown_seriousness_is_refused():
    with pytest.raises(DomainError) as err:
        reporting_clock(
            seriousness="severe", aware_date=date(2025, 8, 20), plan_submitted_date=PLAN_SUBMITTED
        )
    assert err.value.code == "deadline.invalid_seriousness"


def test_an_event_before_the_plan_was_submitted_cannot_be_batched():
    with pytest.raises(DomainError) as err:
        sixty_day_window(plan_submitted_date=PLAN_SUBMITTED, event_date=date(2025, 3, 31))
    assert err.value.code == "deadline.event_before_plan"


# --- weekends and holidays -----------------------------------------------------------------


def test_by_default_a_deadline_on_a_saturday_does_not_move():
    dues = reporting_clock(
        seriousness="death", aware_date=date(2025, 8, 16), plan_submitted_date=PLAN_SUBMITTED
    )
    assert by_rule(dues)["AE-MINISTRY-7D"] == date(2025, 8, 23)  # a Saturday


def test_when_configured_a_ministry_deadline_on_a_saturday_moves_to_monday_but_the_committee_one_does_not():
    dues = reporting_clock(
        seriousness="death",
        aware_date=date(2025, 8, 16),
        plan_submitted_date=PLAN_SUBMITTED,
        config=ROLL_MINISTRY,
    )
    assert by_rule(dues)["AE-MINISTRY-7D"] == date(2025, 8, 25)
    assert by_rule(dues)["AE-COMMITTEE-7D"] == date(2025, 8, 23)


def test_a_rolled_deadline_skips_a_national_holiday():
    # 2025-11-03 (Culture Day) is a Monday.
    dues = reporting_clock(
        seriousness="death",
        aware_date=date(2025, 10, 27),
        plan_submitted_date=PLAN_SUBMITTED,
        config=ROLL_MINISTRY,
    )
    assert by_rule(dues)["AE-MINISTRY-7D"] == date(2025, 11, 4)


def test_a_rolled_deadline_skips_the_year_end_closure_of_government_offices():
    dues = discontinuation_notice_due(discontinued_date=date(2025, 12, 25), config=ROLL_MINISTRY)
    assert by_rule(dues) == {
        "DISCONTINUATION-NOTICE": date(2026, 1, 5),
        "DISCONTINUATION-COMMITTEE": date(2026, 1, 4),
    }
    assert is_administrative_holiday(date(2025, 12, 29)) and is_administrative_holiday(
        date(2026, 1, 2)
    )
    assert not is_administrative_holiday(date(2026, 1, 5))


# --- sixty-day windows -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "index", "start", "end", "due"),
    [
        (date(2025, 4, 1), 0, date(2025, 4, 1), date(2025, 5, 30), date(2025, 6, 9)),
        (date(2025, 5, 30), 0, date(2025, 4, 1), date(2025, 5, 30), date(2025, 6, 9)),
        (date(2025, 5, 31), 1, date(2025, 5, 31), date(2025, 7, 29), date(2025, 8, 8)),
        (date(2025, 7, 30), 2, date(2025, 7, 30), date(2025, 9, 27), date(2025, 10, 7)),
    ],
)
def test_sixty_day_window_edges(event, index, start, end, due):
    window = sixty_day_window(plan_submitted_date=PLAN_SUBMITTED, event_date=event)
    assert (window.index, window.start, window.end, window.due_date) == (index, start, end, due)


def test_windows_may_start_the_day_after_submission_if_configured():
    config = DeadlineConfig(anchor_day_is_day_one=False)
    window = sixty_day_window(
        plan_submitted_date=PLAN_SUBMITTED, event_date=date(2025, 5, 31), config=config
    )
    assert (window.start, window.end) == (date(2025, 4, 2), date(2025, 5, 31))


# --- periodic reports ------------------------------------------------------------------------


def test_periodic_reports_run_yearly_from_submission_and_are_due_ninety_days_after_each_year():
    """Required every year even if no patient was treated: nothing about patients is an input."""
    periods = periodic_report_periods(submitted_date=date(2025, 4, 1), until=date(2027, 3, 31))
    assert [(p.start, p.end, p.due_date) for p in periods] == [
        (date(2025, 4, 1), date(2026, 3, 31), date(2026, 6, 29)),
        (date(2026, 4, 1), date(2027, 3, 31), date(2027, 6, 29)),
    ]
    assert all(p.rule == "PERIODIC-REPORT" and "Art. 20" in p.source for p in periods)


def test_submission_on_feb_29_ends_every_year_on_feb_28():
    periods = periodic_report_periods(submitted_date=date(2024, 2, 29), until=date(2029, 2, 28))
    assert [(p.start, p.end) for p in periods] == [
        (date(2024, 2, 29), date(2025, 2, 28)),
        (date(2025, 3, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2027, 2, 28)),
        (date(2027, 3, 1), date(2028, 2, 28)),
        (date(2028, 2, 29), date(2029, 2, 28)),
    ]
    assert periods[0].due_date == date(2025, 5, 29)


def test_submission_on_a_month_end():
    period = periodic_report_periods(submitted_date=date(2025, 1, 31), until=date(2026, 1, 30))[0]
    assert (period.end, period.due_date) == (date(2026, 1, 30), date(2026, 4, 30))


def test_the_last_period_stops_when_follow_up_ends():
    periods = periodic_report_periods(submitted_date=date(2025, 4, 1), until=date(2026, 9, 15))
    assert periods[-1].start == date(2026, 4, 1)
    assert periods[-1].end == date(2026, 9, 15) and periods[-1].truncated
    assert periods[-1].due_date == date(2026, 12, 14)
    full = periodic_report_periods(
        submitted_date=date(2025, 4, 1),
        until=date(2026, 9, 15),
        config=DeadlineConfig(truncate_final_period=False),
    )
    assert full[-1].end == date(2027, 3, 31)


def test_no_periods_before_submission():
    assert periodic_report_periods(submitted_date=date(2025, 4, 1), until=date(2025, 3, 31)) == []


# --- notices and the Class I wait -----------------------------------------------------------


def test_a_minor_change_is_notified_within_ten_days_and_the_committee_informed():
    dues = change_notice_due(change_date=date(2025, 3, 25))
    assert by_rule(dues) == {
        "MINOR-CHANGE-NOTICE": date(2025, 4, 4),
        "MINOR-CHANGE-COMMITTEE": date(2025, 4, 4),
    }
    assert {d.recipient for d in dues} == {Recipient.MINISTRY, Recipient.COMMITTEE}


def test_discontinuation_is_notified_within_ten_days():
    dues = discontinuation_notice_due(discontinued_date=date(2025, 6, 25))
    assert by_rule(dues)["DISCONTINUATION-NOTICE"] == date(2025, 7, 5)


def test_class_1_provision_may_start_once_ninety_days_counted_from_filing_have_passed():
    assert class1_first_provision_day(submitted_date=date(2025, 1, 1)) == date(2025, 4, 1)
    assert class1_first_provision_day(submitted_date=date(2024, 1, 1)) == date(
        2024, 3, 31
    )  # leap year


def test_every_deadline_rule_cites_a_source_and_has_japanese_text():
    for rule in DEADLINE_RULES.values():
        assert rule.source.strip()
        assert rule.text in MESSAGES_JA


# --- properties -----------------------------------------------------------------------------

dates = st.dates(min_value=date(2015, 1, 1), max_value=date(2040, 12, 31))
configs = st.builds(
    DeadlineConfig,
    count_first_day=st.booleans(),
    roll_forward_recipients=st.frozensets(st.sampled_from(list(Recipient))),
    anchor_day_is_day_one=st.booleans(),
)


@settings(max_examples=300)
@given(
    seriousness=st.sampled_from(list(Seriousness)),
    submitted=dates,
    gap=st.integers(min_value=1, max_value=3000),
    config=configs,
)
def test_no_due_date_is_before_the_day_of_awareness(seriousness, submitted, gap, config):
    aware = submitted + timedelta(days=gap)
    dues = reporting_clock(
        seriousness=seriousness, aware_date=aware, plan_submitted_date=submitted, config=config
    )
    assert dues
    assert all(d.due_date >= aware for d in dues)


@settings(max_examples=300)
@given(submitted=dates, gap=st.integers(min_value=1, max_value=5000), config=configs)
def test_a_window_contains_its_event_and_windows_tile_without_gaps(submitted, gap, config):
    event = submitted + timedelta(days=gap)
    window = sixty_day_window(plan_submitted_date=submitted, event_date=event, config=config)
    assert window.start <= event <= window.end
    assert (window.end - window.start).days == 59
    after = sixty_day_window(
        plan_submitted_date=submitted, event_date=window.end + timedelta(days=1), config=config
    )
    assert after.index == window.index + 1 and after.start == window.end + timedelta(days=1)
    assert window.due_date > window.end


@settings(max_examples=200)
@given(
    accepted=dates,
    years=st.integers(min_value=0, max_value=12),
    extra=st.integers(min_value=0, max_value=365),
)
def test_periodic_periods_tile_from_submission_to_the_end_of_follow_up(accepted, years, extra):
    until = accepted + timedelta(days=365 * years + extra)
    periods = periodic_report_periods(submitted_date=accepted, until=until)
    assert periods[0].start == accepted
    assert periods[-1].end == until
    for before, after in pairwise(periods):
        assert after.start == before.end + timedelta(days=1)
        assert (before.end - before.start).days + 1 in (365, 366)
    for period in periods:
        assert period.due_date == period.end + timedelta(days=90)
