"""Chart axes: months from 0 to the follow-up, scores over the instrument's range, round ticks."""

from __future__ import annotations

import math
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saisei.outcomes.axes import month_axis, nice_step, score_axis
from saisei.outcomes.instruments import measure_info


def test_a_baseline_alone_shows_the_year_of_follow_up_not_a_sliver_around_zero():
    axis = month_axis([0.0])
    assert (axis.low, axis.high) == (0.0, 12.0)
    assert axis.ticks == (0.0, 3.0, 6.0, 9.0, 12.0)


def test_no_readings_at_all_still_draw_a_sensible_axis():
    assert month_axis([]).ticks == (0.0, 3.0, 6.0, 9.0, 12.0)
    assert month_axis([], follow_up_months=None).ticks == (0.0, 1.0)


def test_the_axis_reaches_past_the_follow_up_when_the_data_do():
    axis = month_axis([0.0, 3.1, 6.0, 12.2, 17.5])
    assert axis.low == 0.0 and axis.high == 18.0
    assert axis.step == 3.0
    assert axis.ticks[-1] == 18.0


def test_long_follow_up_uses_half_years_or_years():
    assert month_axis([0, 36]).step == 6.0
    assert month_axis([0, 60]).step == 12.0


@pytest.mark.parametrize(
    ("measure", "ticks"),
    [
        ("MMSE", (0, 5, 10, 15, 20, 25, 30)),
        ("MOCA", (0, 5, 10, 15, 20, 25, 30)),
    ],
)
def test_the_score_axis_is_the_instrument_range(measure, ticks):
    rng = measure_info(measure).range
    axis = score_axis(rng.low, rng.high)
    assert (axis.low, axis.high) == (0.0, 30.0)
    assert axis.ticks == tuple(float(t) for t in ticks)


@pytest.mark.parametrize(
    ("measure", "low", "high", "step"),
    [
        ("CDR-SB", 0, 18, 5),
        ("CDR-GLOBAL", 0, 3, 0.5),
        ("ADAS-COG11", 0, 70, 10),
        ("QOL-AD-SELF", 13, 52, 5),
    ],
)
def test_other_scales_keep_their_whole_range(measure, low, high, step):
    rng = measure_info(measure).range
    axis = score_axis(rng.low, rng.high)
    assert (axis.low, axis.high, axis.step) == (low, high, step)


def test_degenerate_ranges_do_not_collapse():
    axis = score_axis(5, 5)
    assert axis.low < 5 < axis.high
    assert score_axis(30, 0).ticks[0] == 0.0


@given(
    st.lists(st.floats(min_value=0, max_value=120, allow_nan=False), max_size=20),
    st.one_of(st.none(), st.floats(min_value=0, max_value=60)),
)
def test_month_axes_always_start_at_zero_cover_the_data_and_use_round_steps(months, follow_up):
    axis = month_axis(months, follow_up_months=follow_up)
    assert axis.low == 0.0 and axis.ticks[0] == 0.0 and axis.ticks[-1] == axis.high
    assert axis.high >= max([*months, follow_up or 0, 1.0])
    assert axis.step in (1.0, 3.0, 6.0, 12.0, 24.0)
    assert 2 <= len(axis.ticks) <= 10


@given(st.floats(min_value=-1000, max_value=1000), st.floats(min_value=0.01, max_value=1000))
def test_score_ticks_are_round_and_inside_the_range(low, span):
    axis = score_axis(low, low + span)
    step = nice_step(span)
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1.0, 2.0, 5.0, 10.0)
    assert all(axis.low - 1e-6 <= t <= axis.high + 1e-6 for t in axis.ticks)
    assert 1 <= len(axis.ticks) <= 9


def test_the_rendered_chart_uses_these_axes(monkeypatch):
    """trajectory_png asks for the axes computed here (a single baseline reading)."""
    from saisei.outcomes import plots
    from saisei.outcomes.trajectory import read_trajectory

    seen = {}

    def spy(months, **kw):
        seen["months"] = list(months)
        return month_axis(months, **kw)

    monkeypatch.setattr(plots, "month_axis", spy)
    obs = [(date(2025, 1, 10), 21)]
    reading = read_trajectory(measure="MMSE", stage="mild_ad", observations=obs)
    plots.trajectory_png(reading=reading, observations=obs)
    assert seen["months"] and min(seen["months"]) == 0.0
