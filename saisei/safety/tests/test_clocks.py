"""Reporting clocks are date arithmetic in Japan time: property tests over due dates and 'now'."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from saisei.core.timezones import TOKYO
from saisei.safety.selectors import clock_for


def obligation(due: dt.date, status: str = "open") -> SimpleNamespace:
    return SimpleNamespace(
        external_id="x",
        recipient="committee",
        get_recipient_display=lambda: "Certified committee",
        rule_id="AE-COMMITTEE-7D",
        due_date=due,
        status=status,
        source="ASRM Art. 17",
    )


moments = st.datetimes(
    min_value=dt.datetime(2025, 1, 1),
    max_value=dt.datetime(2030, 12, 31),
    timezones=st.just(dt.UTC),
)


@settings(max_examples=300)
@given(now=moments, offset=st.integers(min_value=-60, max_value=60))
def test_a_report_is_overdue_exactly_when_its_due_day_has_ended_in_tokyo(now, offset):
    due = now.astimezone(TOKYO).date() + dt.timedelta(days=offset)
    clock = clock_for(obligation(due), now=now)
    assert clock.overdue == (offset < 0)
    assert clock.days_left == offset
    # Hours left fall inside the day count: between days*24 and days*24 + 23.
    assert offset * 24 <= clock.hours_left <= offset * 24 + 23


@settings(max_examples=100)
@given(now=moments, offset=st.integers(min_value=-60, max_value=60))
def test_a_report_already_sent_is_never_overdue(now, offset):
    due = now.astimezone(TOKYO).date() + dt.timedelta(days=offset)
    assert not clock_for(obligation(due, status="done"), now=now).overdue


def test_friday_23_30_in_tokyo_is_still_friday_for_the_clock():
    friday_late = dt.datetime(2026, 11, 27, 23, 30, tzinfo=TOKYO)  # 14:30 UTC, same date
    saturday_early = dt.datetime(2026, 11, 28, 1, 0, tzinfo=TOKYO)  # Friday 16:00 in UTC
    due = dt.date(2026, 11, 27)
    assert not clock_for(obligation(due), now=friday_late).overdue
    assert clock_for(obligation(due), now=saturday_early).overdue
