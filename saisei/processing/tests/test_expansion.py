"""Expansion forecast: dates a CPC can plan infusions around, and warnings it must not miss."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saisei.core.errors import ValidationFailed
from saisei.processing.expansion import (
    VESSELS,
    ExpansionParameters,
    Observation,
    Spread,
    forecast,
)

START = date(2026, 12, 1)


def _flat(value: float) -> Spread:
    return Spread(fast=value, typical=value, slow=value)


# A culture simple enough to check by hand: 1 g gives 10^5 adherent cells, each passage is
# 8-fold (3 doublings) at 2 days per doubling, no lags.
HAND = ExpansionParameters(
    nucleated_cells_per_g=_flat(1e6),
    adherent_fraction=_flat(0.1),
    doubling_time_days=_flat(2.0),
    initial_lag_days=0.0,
    passage_lag_days=0.0,
    seeding_density_per_cm2=1000.0,
    confluent_density_per_cm2=8000.0,
    passage_limit=4,
)


def test_hand_checked_plan_matches_the_model():
    # P0: 1e5 -> 8e5 (day 6); P1: 8e5 -> 6.4e6 (day 12); P2: 6.4e6 -> 2.56e7 in 2 doublings (day 16).
    result = forecast(tissue_g=1, target_cells=2.56e7, start_date=START, parameters=HAND)
    assert result.likely == START + timedelta(days=16)
    assert result.earliest == result.likely == result.latest
    assert result.passages == 2
    assert result.culture_area_cm2 == pytest.approx(6400)
    assert [step.passage for step in result.plan] == [0, 1, 2]
    assert [step.end_date for step in result.plan] == [
        START + timedelta(days=6),
        START + timedelta(days=12),
        START + timedelta(days=16),
    ]
    assert result.plan[-1].reaches_target
    assert result.plan[1].area_cm2 == pytest.approx(800)
    assert result.plan[1].vessels == 5  # 800 cm² needs five T-175 flasks
    assert result.feasible  # toy numbers only raise "implausible_input" warnings


def test_vessel_count_follows_the_chosen_vessel():
    params = ExpansionParameters.from_overrides({"vessel": "CellSTACK-10"})
    assert params.vessel_area_cm2 == VESSELS["CellSTACK-10"]
    result = forecast(tissue_g=20, target_cells=1e9, start_date=START, parameters=params)
    final = result.plan[-1]
    assert final.vessels == -(-final.area_cm2 // 6360)
    assert "CellSTACK-10" in " ".join(str(line) for line in result.explanation)


def test_default_forecast_answers_in_the_api_shape_with_ordered_dates():
    data = forecast(tissue_g=20, target_cells=5 * 2e8, start_date=START).as_dict()
    assert {"earliest", "likely", "latest", "passages", "culture_area_cm2", "warnings"} <= set(data)
    earliest, likely, latest = (
        date.fromisoformat(data[k]) for k in ("earliest", "likely", "latest")
    )
    assert START < earliest < likely < latest
    # The facts' worked example: a few weeks from harvest, around P2-P4.
    assert timedelta(weeks=2) <= likely - START <= timedelta(weeks=10)
    assert 2 <= data["passages"] <= 4
    assert data["culture_area_cm2"] > 0
    assert data["parameters"]["doubling_time_days"]["source"]
    assert data["explanation"]


def test_plan_is_reported_per_passage_with_dates_and_area():
    plan = forecast(tissue_g=20, target_cells=2e8, start_date=START).as_dict()["plan"]
    assert plan[0]["passage"] == 0
    assert all(
        later["start_date"] >= earlier["end_date"] for earlier, later in itertools.pairwise(plan)
    )
    assert plan[-1]["reaches_target"] is True
    assert all(step["vessels"] >= 1 for step in plan)


@pytest.mark.parametrize(
    ("limit", "code", "feasible"),
    [
        (4, None, True),
        (3, "passage_limit_at_risk", True),
        (2, "passage_limit_exceeded", False),
        (1, "target_unreachable", False),
    ],
)
def test_passage_limit_is_flagged_by_how_likely_it_is_to_be_broken(limit, code, feasible):
    # Defaults with 20 g and 10^9 cells: fast needs P2, typical P3, slow P4.
    params = ExpansionParameters.from_overrides({"passage_limit": limit})
    result = forecast(tissue_g=20, target_cells=1e9, start_date=START, parameters=params)
    assert [result.scenarios[s].passages for s in ("fast", "typical", "slow")] == [2, 3, 4]
    limit_codes = {"passage_limit_at_risk", "passage_limit_exceeded", "target_unreachable"}
    assert [c for c in result.warning_codes() if c in limit_codes] == ([code] if code else [])
    assert result.feasible is feasible


def test_doubling_limit_when_configured_blocks_the_plan():
    params = ExpansionParameters.from_overrides({"doubling_limit": 6})
    result = forecast(tissue_g=20, target_cells=1e9, start_date=START, parameters=params)
    assert "doubling_limit_exceeded" in result.warning_codes()
    assert not result.feasible


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tissue_g": 0.5}, "tissue_g"),
        ({"tissue_g": 900}, "tissue_g"),
        ({"target_cells": 1e4}, "target_cells"),
        ({"parameters": {"doubling_time_days": 30}}, "doubling_time_days"),
    ],
)
def test_implausible_inputs_are_flagged_but_still_forecast(kwargs, field):
    args = {"tissue_g": 20, "target_cells": 2e8, "start_date": START} | kwargs
    result = forecast(**args)
    flagged = [w for w in result.warnings if w.code == "implausible_input"]
    assert [w.field for w in flagged] == [field]
    assert result.likely >= START


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tissue_g": 0}, "tissue_g"),
        ({"tissue_g": -3}, "tissue_g"),
        ({"tissue_g": float("nan")}, "tissue_g"),
        ({"target_cells": 0}, "target_cells"),
        ({"start_date": "2026-12-01"}, "start_date"),
    ],
)
def test_impossible_inputs_are_refused_with_the_field_named(kwargs, field):
    args = {"tissue_g": 20, "target_cells": 2e8, "start_date": START} | kwargs
    with pytest.raises(ValidationFailed) as excinfo:
        forecast(**args)
    assert excinfo.value.code == "expansion.invalid_input"
    assert field in excinfo.value.fields


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"adherent_fraction": 1.5}, "adherent_fraction"),
        ({"doubling_time_days": {"fast": 6, "typical": 3.5, "slow": 5}}, "doubling_time_days"),
        ({"nucleated_cells_per_g": [0.5e6, 1e6, 2e6]}, "nucleated_cells_per_g"),
        ({"seeding_density_per_cm2": 15000}, "seeding_density_per_cm2"),
        ({"passage_limit": 2.5}, "passage_limit"),
        ({"vessel": "Bucket"}, "vessel"),
        ({"colour": "blue"}, "colour"),
        ({"initial_lag_days": -1}, "initial_lag_days"),
        ({"confluent_density_per_cm2": "lots"}, "confluent_density_per_cm2"),
    ],
)
def test_out_of_range_parameters_are_refused_with_a_clear_error(overrides, field):
    with pytest.raises(ValidationFailed) as excinfo:
        ExpansionParameters.from_overrides(overrides)
    assert excinfo.value.code == "expansion.invalid_parameters"
    assert field in excinfo.value.fields
    assert str(excinfo.value.fields[field])


def test_single_number_override_keeps_the_default_relative_spread():
    params = ExpansionParameters.from_overrides({"doubling_time_days": 7})
    assert params.doubling_time_days == Spread(fast=4.0, typical=7.0, slow=10.0)
    slower = forecast(tissue_g=20, target_cells=2e8, start_date=START, parameters=params)
    default = forecast(tissue_g=20, target_cells=2e8, start_date=START)
    assert slower.likely > default.likely


def test_partial_spread_override_keeps_the_other_defaults():
    params = ExpansionParameters.from_overrides({"adherent_fraction": {"slow": 0.005}})
    assert params.adherent_fraction == Spread(fast=0.10, typical=0.03, slow=0.005)


def test_reforecast_measures_growth_from_counts_and_takes_passage_lags_out():
    # Harvest counts: 10^6 at P0 on day 10, 4 × 10^6 at P1 on day 21 (one 1-day lag) -> 5 d per doubling.
    counts = [(START + timedelta(days=10), 0, 1e6), (START + timedelta(days=21), 1, 4e6)]
    result = forecast(tissue_g=20, target_cells=2e8, start_date=START, actual_counts=counts)
    assert result.observed_doubling_time_days == pytest.approx(5.0)
    assert result.scenarios["typical"].doubling_time_days == pytest.approx(5.0)
    assert result.plan[0].passage == 2  # the counted cells go into the next passage
    assert result.plan[0].start_date == START + timedelta(days=21)
    assert result.as_dict()["based_on_observations"] is True


def test_slow_actual_growth_pushes_the_date_out_and_warns():
    plan = forecast(tissue_g=20, target_cells=2e8, start_date=START)
    counts = [
        {"date": START + timedelta(days=14), "passage": 0, "cells": 1e6},
        {"date": START + timedelta(days=43), "passage": 1, "cells": 4e6},
    ]
    result = forecast(tissue_g=20, target_cells=2e8, start_date=START, actual_counts=counts)
    assert "growth_slower_than_expected" in result.warning_codes()
    assert result.likely > plan.likely


def test_target_already_counted_is_reached_on_the_count_day():
    counts = [Observation(date=START + timedelta(days=30), passage=3, cells=2.1e8)]
    result = forecast(tissue_g=20, target_cells=2e8, start_date=START, actual_counts=counts)
    assert result.earliest == result.likely == result.latest == START + timedelta(days=30)


def test_in_flask_count_with_area_continues_the_same_passage():
    # 10^6 cells on 200 cm² (capacity 4 × 10^6): target 3 × 10^6 is reached in this passage.
    counts = [Observation(date=START + timedelta(days=8), passage=0, cells=1e6, area_cm2=200)]
    result = forecast(tissue_g=20, target_cells=3e6, start_date=START, actual_counts=counts)
    assert result.passages == 0
    assert len(result.plan) == 1


def test_counts_with_passages_going_backwards_are_refused():
    counts = [(START + timedelta(days=10), 2, 1e6), (START + timedelta(days=20), 1, 4e6)]
    with pytest.raises(ValidationFailed) as excinfo:
        forecast(tissue_g=20, target_cells=2e8, start_date=START, actual_counts=counts)
    assert excinfo.value.code == "expansion.invalid_observations"


def test_counts_before_the_start_or_not_positive_are_refused():
    counts = [(START - timedelta(days=1), 0, 1e6), (START + timedelta(days=3), 0, 0)]
    with pytest.raises(ValidationFailed) as excinfo:
        forecast(tissue_g=20, target_cells=2e8, start_date=START, actual_counts=counts)
    assert set(excinfo.value.fields) == {"actual_counts[0]", "actual_counts[1]"}


def test_malformed_counts_are_refused_with_a_readable_message():
    with pytest.raises(ValidationFailed) as excinfo:
        forecast(
            tissue_g=20,
            target_cells=2e8,
            start_date=START,
            actual_counts=[(START, 0), {"date": "yesterday", "passage": 0, "cells": 1e6}],
        )
    assert set(excinfo.value.fields) == {"actual_counts[0]", "actual_counts[1]"}
    assert "cell count" in str(excinfo.value.fields["actual_counts[0]"])


def test_counts_without_growth_are_flagged():
    counts = [(START + timedelta(days=10), 0, 1e6), (START + timedelta(days=15), 0, 0.9e6)]
    result = forecast(tissue_g=20, target_cells=2e8, start_date=START, actual_counts=counts)
    assert "no_growth_observed" in result.warning_codes()


tissue = st.floats(min_value=2, max_value=500)
target = st.floats(min_value=1e6, max_value=1e10)


@settings(max_examples=100, deadline=None)
@given(tissue_g=tissue, target_cells=target)
def test_earliest_never_after_likely_never_after_latest(tissue_g, target_cells):
    result = forecast(tissue_g=tissue_g, target_cells=target_cells, start_date=START)
    assert START <= result.earliest <= result.likely <= result.latest
    assert result.scenarios["fast"].passages <= result.passages <= result.scenarios["slow"].passages


@settings(max_examples=100, deadline=None)
@given(tissue_g=tissue, extra=st.floats(min_value=0, max_value=200), target_cells=target)
def test_more_tissue_never_delays_the_likely_day(tissue_g, extra, target_cells):
    less = forecast(tissue_g=tissue_g, target_cells=target_cells, start_date=START)
    more = forecast(tissue_g=tissue_g + extra, target_cells=target_cells, start_date=START)
    assert more.likely <= less.likely


@settings(max_examples=100, deadline=None)
@given(tissue_g=tissue, target_cells=target, factor=st.floats(min_value=1, max_value=10))
def test_a_larger_target_never_comes_sooner(tissue_g, target_cells, factor):
    small = forecast(tissue_g=tissue_g, target_cells=target_cells, start_date=START)
    large = forecast(tissue_g=tissue_g, target_cells=target_cells * factor, start_date=START)
    assert large.likely >= small.likely
    assert large.passages >= small.passages
