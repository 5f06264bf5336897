"""QC specifications: each test judged at its limit, K/M endotoxin by route, and release gating."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saisei.core.errors import ValidationFailed
from saisei.processing.specs import (
    PENDING,
    Kind,
    Route,
    Stage,
    default_specifications,
    endotoxin_limit,
    evaluate,
    release_readiness,
)

# 70 kg patient, IV, five doses of 2 × 10^8 cells in 100 mL each.
SPECS = default_specifications(
    route="iv", weight_kg=70, cells_per_dose=2e8, doses=5, dose_volume_ml=100
)

PASSING = {
    "sterility": "no_growth",
    "gram_stain": "no organisms seen",
    "mycoplasma": "Negative",
    "endotoxin": 0.5,
    "viability": 92.5,
    "identity_cd73": 99.1,
    "identity_cd90": 98.7,
    "identity_cd105": 97.0,
    "identity_cd45": 0.4,
    "identity_cd34": 1.2,
    "identity_cd14_cd11b": 0.3,
    "identity_cd79a_cd19": 0.1,
    "identity_hla_dr": 0.5,
    "total_viable_cells": 1.1e9,
    "dose_viable_cells": 2.0e8,
}

# (code, value exactly at the limit or accepted, value just outside)
SCENARIOS = [
    ("sterility", "no growth", "growth"),
    ("gram_stain", "no_organisms_seen", "organisms seen"),
    ("mycoplasma", "negative", "positive"),
    ("mycoplasma", "negative", "inconclusive"),
    ("endotoxin", 3.5, 3.51),
    ("viability", 70, 69.9),
    ("viability_post_thaw", "70.0", "69.99"),
    ("identity_cd73", 95, 94.9),
    ("identity_cd90", 95.0, 94.99),
    ("identity_cd105", 95, 94),
    ("identity_cd45", 2, 2.01),
    ("identity_cd34", 2.0, 2.1),
    ("identity_cd14_cd11b", 2, 3),
    ("identity_cd79a_cd19", 2, 2.5),
    ("identity_hla_dr", 2, 20),
    ("total_viable_cells", 1e9, 999_999_999),
    ("dose_viable_cells", 1.8e8, 1.79e8),
    ("dose_viable_cells", 2.2e8, 2.21e8),
]


@pytest.mark.parametrize(("code", "at_limit", "outside"), SCENARIOS)
def test_each_specification_passes_at_its_limit_and_fails_just_outside(code, at_limit, outside):
    spec = SPECS.get(code)
    good = evaluate(spec=spec, value=at_limit)
    bad = evaluate(spec=spec, value=outside)
    assert good.passed and not good.out_of_specification
    assert not bad.passed and bad.out_of_specification
    assert "quarantined" in str(bad.message) and "deviation" in str(bad.message)


def test_every_default_specification_is_covered_by_a_scenario():
    assert {s.code for s in SPECS} == {code for code, _, _ in SCENARIOS}


def test_every_specification_cites_its_source_and_numeric_ones_have_units():
    codes = [s.code for s in SPECS]
    assert len(codes) == len(set(codes))
    for spec in SPECS:
        assert spec.source, spec.code
        if spec.kind is Kind.NUMERIC:
            assert spec.unit and spec.limit is not None, spec.code


def test_isct_identity_panel_uses_95_and_2_percent():
    identity = [s for s in SPECS if s.group == "identity"]
    assert {s.limit_text() for s in identity} == {"≥ 95 %", "≤ 2 %"}
    assert len(identity) == 8
    assert all("Dominici" in s.source for s in identity)


def test_sterility_may_run_past_release_only_with_the_gram_stain_as_its_rapid_check():
    sterility = SPECS.get("sterility")
    assert sterility.pre_release_allowed and sterility.rapid_check == "gram_stain"
    assert "14-day" in sterility.source
    others = [s for s in SPECS if s.code != "sterility"]
    assert not any(s.pre_release_allowed for s in others)


def test_post_thaw_viability_is_checked_at_the_clinic_not_before_release():
    spec = SPECS.get("viability_post_thaw")
    assert spec.stage is Stage.POST_THAW
    assert spec.required_for_release is False
    assert spec.limit == 70


def test_specification_table_is_plain_data_for_the_api():
    data = SPECS.as_dict()
    assert data["product"] == "MSC(AT)"
    assert data["route"] == "iv"
    row = next(r for r in data["specifications"] if r["code"] == "viability")
    assert row["limit_text"] == "≥ 70 %" and row["comparator"] == ">="


# --- Endotoxin K/M -----------------------------------------------------------------------------


def test_iv_limit_is_5_eu_per_kg_per_hour():
    limit = endotoxin_limit(route="iv", weight_kg=70)
    assert limit.k_eu_per_kg == 5.0
    assert limit.basis == "per_hour"
    assert limit.limit_eu == 350
    assert limit.eu_per_ml is None


def test_iv_limit_per_ml_uses_the_volume_infused_within_one_hour():
    within_hour = endotoxin_limit(route="iv", weight_kg=70, dose_volume_ml=100)
    assert within_hour.eu_per_ml == 3.5
    # Over two hours only 50 mL run in any hour, so each mL may carry twice as much.
    over_two_hours = endotoxin_limit(
        route="iv", weight_kg=70, dose_volume_ml=100, infusion_minutes=120
    )
    assert over_two_hours.volume_ml == 50
    assert over_two_hours.eu_per_ml == 7.0


def test_intrathecal_limit_is_0_2_eu_per_kg_for_the_whole_dose():
    limit = endotoxin_limit(route="IT", weight_kg=70, dose_volume_ml=2, infusion_minutes=120)
    assert limit.route is Route.INTRATHECAL
    assert limit.k_eu_per_kg == 0.2
    assert limit.basis == "per_dose"
    assert limit.limit_eu == 14
    assert limit.eu_per_ml == 7.0  # infusion time does not dilute a per-dose limit
    assert "14 EU" in str(limit.explanation)


def test_intrathecal_specification_is_25_times_stricter_than_iv_for_the_same_volume():
    iv = default_specifications(
        route="iv", weight_kg=60, cells_per_dose=1e8, doses=3, dose_volume_ml=10
    )
    it = default_specifications(
        route="intrathecal", weight_kg=60, cells_per_dose=1e8, doses=3, dose_volume_ml=10
    )
    assert Decimal(str(iv.get("endotoxin").limit)) / Decimal(str(it.get("endotoxin").limit)) == 25
    assert evaluate(spec=it.get("endotoxin"), value=1.2).passed
    assert not evaluate(spec=it.get("endotoxin"), value=1.21).passed


def test_without_a_volume_the_endotoxin_result_is_judged_as_total_eu():
    specs = default_specifications(route="it", weight_kg=50, cells_per_dose=1e7, doses=3)
    spec = specs.get("endotoxin")
    assert spec.unit == "EU" and spec.limit == 10


@pytest.mark.parametrize(
    ("kwargs", "code", "field"),
    [
        ({"route": "subcutaneous"}, "qc.unknown_route", "route"),
        ({"weight_kg": 0}, "qc.invalid_endotoxin_input", "weight_kg"),
        ({"weight_kg": 400}, "qc.invalid_endotoxin_input", "weight_kg"),
        ({"dose_volume_ml": -1}, "qc.invalid_endotoxin_input", "dose_volume_ml"),
        ({"infusion_minutes": 0}, "qc.invalid_endotoxin_input", "infusion_minutes"),
    ],
)
def test_endotoxin_inputs_that_would_give_a_wrong_limit_are_refused(kwargs, code, field):
    args = {"route": "iv", "weight_kg": 70} | kwargs
    with pytest.raises(ValidationFailed) as excinfo:
        endotoxin_limit(**args)
    assert excinfo.value.code == code
    assert field in excinfo.value.fields


# --- Result entry ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "value"),
    [
        ("viability", "about ninety"),
        ("viability", 101),
        ("viability", float("nan")),
        ("viability", True),
        ("endotoxin", -0.1),
        ("sterility", "maybe"),
        ("sterility", ""),
        ("mycoplasma", 0),
    ],
)
def test_unreadable_results_are_refused_rather_than_judged(code, value):
    with pytest.raises(ValidationFailed) as excinfo:
        evaluate(spec=SPECS.get(code), value=value)
    assert excinfo.value.code == "qc.invalid_result"
    assert code in excinfo.value.fields


@settings(max_examples=200, deadline=None)
@given(value=st.decimals(min_value=0, max_value=100, places=2))
def test_viability_passes_exactly_when_at_least_70_percent(value):
    assert evaluate(spec=SPECS.get("viability"), value=value).passed is (value >= 70)


# --- Release readiness -------------------------------------------------------------------------


def test_all_results_in_specification_allow_full_release():
    readiness = release_readiness(specs=SPECS, results=PASSING)
    assert readiness.status == "full"
    assert readiness.full_release_possible
    assert readiness.actions == ()
    assert len(readiness.passed) == len([s for s in SPECS if s.required_for_release])


def test_a_lot_with_a_failed_endotoxin_test_cannot_be_released_and_is_quarantined():
    readiness = release_readiness(specs=SPECS, results=PASSING | {"endotoxin": 4.0})
    assert readiness.status == "blocked"
    assert [e.code for e in readiness.failed] == ["endotoxin"]
    assert readiness.out_of_specification
    assert readiness.actions == ("quarantine_lot", "open_deviation")


def test_a_missing_test_blocks_release_and_is_named():
    results = {k: v for k, v in PASSING.items() if k != "mycoplasma"}
    readiness = release_readiness(specs=SPECS, results=results, allow_conditional=True)
    assert readiness.status == "blocked"
    assert readiness.missing == ("mycoplasma",)
    assert not readiness.out_of_specification
    assert any("Mycoplasma" in str(r) for r in readiness.reasons)


def test_fresh_lot_may_be_released_conditionally_while_only_sterility_runs_after_a_clean_gram_stain():
    readiness = release_readiness(
        specs=SPECS, results=PASSING | {"sterility": PENDING}, allow_conditional=True
    )
    assert readiness.status == "conditional"
    assert readiness.conditional_release_possible and not readiness.full_release_possible
    assert readiness.pending == ("sterility",)


def test_conditional_release_is_refused_when_the_product_does_not_allow_it():
    readiness = release_readiness(specs=SPECS, results=PASSING | {"sterility": PENDING})
    assert readiness.status == "blocked"
    assert readiness.pending == ("sterility",)


@pytest.mark.parametrize(
    ("changes", "expected_missing", "expected_failed"),
    [
        ({"sterility": PENDING, "gram_stain": PENDING}, (), ()),
        ({"sterility": PENDING, "gram_stain": "organisms seen"}, (), ("gram_stain",)),
        ({"sterility": PENDING, "mycoplasma": PENDING}, (), ()),
        ({"sterility": None}, ("sterility",), ()),
        ({"sterility": PENDING, "viability": 65}, (), ("viability",)),
    ],
)
def test_conditional_release_needs_sterility_to_be_the_only_outstanding_test(
    changes, expected_missing, expected_failed
):
    readiness = release_readiness(specs=SPECS, results=PASSING | changes, allow_conditional=True)
    assert readiness.status == "blocked"
    assert readiness.missing == expected_missing
    assert tuple(e.code for e in readiness.failed) == expected_failed


def test_post_thaw_viability_does_not_hold_up_release_at_the_cpc():
    assert "viability_post_thaw" not in PASSING
    assert release_readiness(specs=SPECS, results=PASSING).status == "full"


def test_an_unreadable_result_stops_the_readiness_check_with_the_field_named():
    with pytest.raises(ValidationFailed) as excinfo:
        release_readiness(specs=SPECS, results=PASSING | {"viability": "n/a"})
    assert "viability" in excinfo.value.fields


def test_a_plan_can_tighten_one_specification_without_code_changes():
    strict = SPECS.replace_spec("viability", limit=80.0)
    readiness = release_readiness(specs=strict, results=PASSING | {"viability": 75})
    assert [e.code for e in readiness.failed] == ["viability"]
