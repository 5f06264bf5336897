"""Natural-history defaults, MCIDs and the expected-change prediction band."""

import math
from statistics import NormalDist

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saisei.core.errors import ValidationFailed
from saisei.outcomes.instruments import measure_info
from saisei.outcomes.reference import (
    DEFAULT_MCID_ROWS,
    DEFAULT_REFERENCE_ROWS,
    DEFAULT_SEM_ROWS,
    STAGES,
    ReferenceRow,
    expected_change,
    find_mcid,
    reliable_change,
)


def test_every_default_row_names_its_source_and_a_known_measure_and_stage():
    for row in (*DEFAULT_REFERENCE_ROWS, *DEFAULT_SEM_ROWS, *DEFAULT_MCID_ROWS):
        assert row.source.strip()
        measure_info(row.measure)  # raises if the measure is unknown
    for row in DEFAULT_REFERENCE_ROWS:
        assert row.stage in STAGES
        assert row.sd > 0


def test_default_rows_decline_in_the_direction_of_worse():
    for row in DEFAULT_REFERENCE_ROWS:
        worse = 1 if measure_info(row.measure).higher_is_worse else -1
        assert worse * row.annual_change > 0, row


def test_defaults_match_the_facts_sheet_anchors():
    rows = {(r.measure, r.stage): r for r in DEFAULT_REFERENCE_ROWS}
    assert rows["CDR-SB", "early_ad"].annual_change == 1.1  # CLARITY-AD placebo
    assert rows["MMSE", "mci_ad"].annual_change == -1.0  # MCSA
    assert rows["ADAS-COG11", "mild_ad"].annual_change == 4.3  # ADNI
    # Items the sheet marks uncertain are flagged, not hidden.
    assert rows["CDR-SB", "mild_ad"].uncertain and rows["MMSE", "moderate_ad"].uncertain


def test_mcid_rows_are_larger_at_more_severe_stages():
    for measure in ("MMSE", "CDR-SB"):
        values = [find_mcid(measure=measure, stage=s, rows=DEFAULT_MCID_ROWS).value for s in STAGES]
        assert values == sorted(values)
        for s in STAGES:
            row = find_mcid(measure=measure, stage=s, rows=DEFAULT_MCID_ROWS)
            assert row.low <= row.value <= row.high


def test_expected_change_mmse_mild_ad_one_year():
    ex = expected_change(measure="MMSE", stage="mild_ad", baseline=22, months=12)
    assert ex["expected"] == pytest.approx(20.0)
    # Band: z(90%) · √((2.8·1)² + 2.0²·2)
    half = NormalDist().inv_cdf(0.95) * math.sqrt(2.8**2 + 2 * 2.0**2)
    assert ex["lower"] == pytest.approx(20 - half)
    assert ex["upper"] == pytest.approx(20 + half)
    assert ex["mcid"] == 2.0 and ex["mcid_range"] == (1.0, 3.0)
    assert "CERAD" in ex["source"]


def test_band_at_baseline_is_measurement_noise_only_and_widens_with_time():
    widths = [
        expected_change(measure="CDR-SB", stage="early_ad", baseline=3, months=m)
        for m in (0, 6, 12, 24)
    ]
    w = [e["upper"] - e["lower"] for e in widths]
    assert w == sorted(w) and w[0] > 0
    assert widths[0]["expected"] == 3


def test_more_baseline_assessments_narrow_the_band():
    one = expected_change(measure="MMSE", stage="mild_ad", baseline=22, months=6)
    two = expected_change(measure="MMSE", stage="mild_ad", baseline=22, months=6, baseline_n=2)
    assert two["upper"] - two["lower"] < one["upper"] - one["lower"]


def test_values_are_clamped_to_the_instrument_range():
    ex = expected_change(measure="MMSE", stage="moderate_ad", baseline=3, months=24)
    assert ex["expected"] == 0 and ex["lower"] == 0
    assert ex["clamped"]
    top = expected_change(measure="CDR-SB", stage="moderate_ad", baseline=17.5, months=36)
    assert top["upper"] == 18 and top["expected"] == 18


def test_clinic_edited_rows_are_used():
    rows = (ReferenceRow("MMSE", "mild_ad", -4.0, 1.0, "clinic registry 2026"),)
    ex = expected_change(
        measure="MMSE", stage="mild_ad", baseline=24, months=6, reference_rows=rows
    )
    assert ex["expected"] == pytest.approx(22.0)
    assert ex["source"].startswith("clinic registry 2026")


def test_measure_without_reference_is_refused_not_guessed():
    with pytest.raises(ValidationFailed) as exc:
        expected_change(measure="MOCA", stage="mild_ad", baseline=20, months=12)
    assert exc.value.code == "outcomes.no_reference"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"stage": "severe_ad"}, "outcomes.unknown_stage"),
        ({"months": -1}, "outcomes.invalid_months"),
        ({"baseline": 31}, "outcomes.invalid_baseline"),
        ({"baseline": float("nan")}, "outcomes.invalid_baseline"),
    ],
)
def test_bad_requests_are_refused_with_stable_codes(kwargs, code):
    args = {"measure": "MMSE", "stage": "mild_ad", "baseline": 22, "months": 12, **kwargs}
    with pytest.raises(ValidationFailed) as exc:
        expected_change(**args)
    assert exc.value.code == code


def test_reliable_change_is_jacobson_truax():
    assert reliable_change(sem=2.0) == pytest.approx(1.96 * math.sqrt(2) * 2.0)


@settings(max_examples=200, deadline=None)
@given(
    row=st.sampled_from(DEFAULT_REFERENCE_ROWS),
    frac=st.floats(min_value=0, max_value=1),
    months=st.floats(min_value=0, max_value=120),
)
def test_band_always_contains_expected_and_stays_in_range(row, frac, months):
    rng = measure_info(row.measure).range
    baseline = rng.low + frac * (rng.high - rng.low)
    ex = expected_change(measure=row.measure, stage=row.stage, baseline=baseline, months=months)
    assert rng.low <= ex["lower"] <= ex["expected"] <= ex["upper"] <= rng.high
