"""Patient trajectory readings: plain language that never over-claims a benefit."""

from datetime import date, timedelta

import pytest
from django.utils import translation
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from saisei.core.catalogues import translations
from saisei.core.errors import ValidationFailed
from saisei.outcomes.instruments import measure_info
from saisei.outcomes.reference import (
    DEFAULT_MCID_ROWS,
    DEFAULT_REFERENCE_ROWS,
    DEFAULT_SEM_ROWS,
    find_mcid,
    find_sem,
    reliable_change,
)
from saisei.outcomes.trajectory import CAVEATS, FAVOURABLE, HEADLINES, Category, read_trajectory

JA = translations("outcomes", "ja")


START = date(2025, 4, 1)


def at(months):
    return START + timedelta(days=round(months * 30.4375))


def read(measure, stage, *points, **kw):
    return read_trajectory(
        measure=measure, stage=stage, observations=[(at(m), s) for m, s in points], **kw
    )


def en(text):
    with translation.override("en"):
        return str(text)


# ---- examples a family would see ----------------------------------------------------------------


def test_single_assessment_cannot_be_judged():
    r = read("MMSE", "mild_ad", (0, 22))
    assert r.category == Category.INSUFFICIENT_DATA
    assert r.observed_change is None


def test_stable_mmse_in_mild_ad_is_less_decline_but_within_normal_variation():
    r = read("MMSE", "mild_ad", (0, 22), (13, 22))
    assert r.category == Category.LESS_DECLINE_WITHIN_VARIATION
    assert en(r.text) == "Declined less than expected, but within normal variation."
    assert {
        "not_attributable",
        "measurement_noise",
        "short_follow_up",
        "regression_to_mean",
        "practice_effect",
    } <= set(r.caveat_codes)


def test_a_shortfall_smaller_than_the_mcid_is_as_expected_not_less():
    # Expected −2/yr; −1.5 over 13 months is 0.7 short of expectation, below the MCID of 2.
    r = read("MMSE", "mild_ad", (0, 22), (13, 20.5))
    assert r.category == Category.WITHIN_EXPECTED
    assert "not_attributable" not in r.caveat_codes


def test_decline_like_natural_history_is_within_expected_range():
    r = read("CDR-SB", "early_ad", (0, 3), (12, 4.5))
    assert r.category == Category.WITHIN_EXPECTED
    assert en(r.text) == "Within the range expected without treatment."
    assert "not_attributable" not in r.caveat_codes
    assert "unblinded_rater" in r.caveat_codes


def test_steep_decline_is_flagged():
    r = read("MMSE", "mild_ad", (0, 24), (6, 20), (12, 14))
    assert r.category == Category.DECLINED_MORE_THAN_EXPECTED
    assert "doctor" in en(r.text)


def test_gain_beyond_noise_and_mcid_is_described_with_its_limits():
    r = read("MMSE", "mild_ad", (0, 18), (12, 26))
    assert r.category == Category.IMPROVED_BEYOND_NOISE
    text = en(r.text)
    assert "does not show that the treatment is the reason" in text
    assert r.caveat_codes[0] == "not_attributable"
    assert "regression_to_mean" in r.caveat_codes


def test_mean_of_two_baselines_is_used_and_removes_the_regression_caveat():
    r = read("MMSE", "mild_ad", (0, 20), (1, 22), (13, 22), baseline_until=at(1))
    assert r.baseline == 21 and r.baseline_n == 2
    assert r.baseline_date == at(1)
    assert "regression_to_mean" not in r.caveat_codes


def test_measure_without_reference_says_so():
    r = read("MOCA", "mild_ad", (0, 18), (12, 24))
    assert r.category == Category.NO_REFERENCE
    assert r.expected_path == []
    assert "no_measurement_error" in r.caveat_codes


def test_caregiver_diary_reading_says_it_is_not_validated_and_informant_rated():
    r = read("DIARY", "mild_ad", (0, 8), (6, 4))
    assert {"not_validated", "informant_rated"} <= set(r.caveat_codes)


def test_behaviour_measures_carry_the_not_demonstrated_caveat():
    assert "not_demonstrated" in read("DIARY", "mild_ad", (0, 8), (6, 4)).caveat_codes
    assert "not_demonstrated" in read("NPI-Q-SEVERITY", "mild_ad", (0, 8), (6, 4)).caveat_codes
    assert "not_demonstrated" not in read("MMSE", "mild_ad", (0, 22), (6, 22)).caveat_codes


def test_lasting_return_to_an_earlier_fast_stage_prompts_review_not_recovery():
    r = read("FAST", "mild_ad", (0, 4), (6, 5), (12, 4), (18, 4))
    assert "stage_reversal" in r.caveat_codes
    assert (
        "stage_reversal"
        not in read("FAST", "mild_ad", (0, 4), (6, 5), (12, 4), (18, 5)).caveat_codes
    )


def test_expected_path_starts_at_baseline_and_reaches_the_horizon():
    r = read("CDR-SB", "mild_ad", (0, 4), (6, 4.5), horizon_months=18)
    assert r.expected_path[0].months == 0 and r.expected_path[0].expected == 4
    assert r.expected_path[-1].months == 18
    assert r.expected_path[-1].expected == pytest.approx(4 + 1.5 * 1.5)
    for p in r.expected_path:
        assert p.lower <= p.expected <= p.upper


def test_uncertain_reference_is_disclosed():
    r = read("CDR-SB", "mild_ad", (0, 4), (12, 5))
    assert "reference_uncertain" in r.caveat_codes


def test_mmse_follow_up_under_three_years_is_short():
    assert "short_follow_up" in read("MMSE", "mild_ad", (0, 22), (30, 18)).caveat_codes
    assert "short_follow_up" not in read("MMSE", "mild_ad", (0, 22), (37, 15)).caveat_codes


def test_out_of_range_observation_is_refused():
    with pytest.raises(ValidationFailed):
        read("MMSE", "mild_ad", (0, 22), (6, 35))


# ---- properties ---------------------------------------------------------------------------------

REFERENCED = [
    r for r in DEFAULT_REFERENCE_ROWS if find_sem(measure=r.measure, rows=DEFAULT_SEM_ROWS)
]
OVERCLAIM = (
    "effective",
    "thanks to",
    "because of the treatment",
    "reversed",
    "cure",
    "halted",
    "worked",
    "slowed",
)


@settings(max_examples=250, deadline=None)
@given(
    row=st.sampled_from(REFERENCED),
    frac=st.floats(min_value=0.05, max_value=0.95),
    share=st.floats(min_value=0, max_value=0.999),
    months=st.floats(min_value=0.5, max_value=60),
    middle=st.lists(st.floats(min_value=0, max_value=1), max_size=3),
)
def test_improvement_smaller_than_measurement_noise_is_never_called_improved(
    row, frac, share, months, middle
):
    info = measure_info(row.measure)
    rng = info.range
    worse = 1 if info.higher_is_worse else -1
    sem = find_sem(measure=row.measure, rows=DEFAULT_SEM_ROWS).sem
    noise = reliable_change(sem=sem)
    baseline = rng.low + frac * (rng.high - rng.low)
    latest = baseline - worse * share * noise  # better than baseline, by less than the noise
    assume(rng.low <= latest <= rng.high)
    points = [(0, baseline)]
    points += [
        (months * (i + 1) / (len(middle) + 1), rng.low + m * (rng.high - rng.low))
        for i, m in enumerate(middle)
    ]
    points.append((months, latest))
    r = read(row.measure, row.stage, *points)
    assert r.noise_threshold == pytest.approx(noise)
    assert r.category != Category.IMPROVED_BEYOND_NOISE
    headline = en(r.text).lower()
    assert "improv" not in headline and "better" not in headline
    ja = JA[en(r.text)]
    assert "良く" not in ja and "改善" not in ja


@settings(max_examples=250, deadline=None)
@given(
    row=st.sampled_from(DEFAULT_REFERENCE_ROWS),
    scores=st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=6),
    gaps=st.lists(st.integers(min_value=1, max_value=400), min_size=6, max_size=6),
)
def test_no_reading_ever_over_claims(row, scores, gaps):
    rng = measure_info(row.measure).range
    worse = 1 if measure_info(row.measure).higher_is_worse else -1
    obs, day = [], START
    for s, gap in zip(scores, gaps, strict=False):
        obs.append((day, rng.low + s * (rng.high - rng.low)))
        day += timedelta(days=gap)
    r = read_trajectory(measure=row.measure, stage=row.stage, observations=obs)
    words = " ".join([en(r.text), *(en(c.text) for c in r.caveats)]).lower()
    for phrase in OVERCLAIM:
        assert phrase not in words
    if r.category in FAVOURABLE:
        assert "not_attributable" in r.caveat_codes
    if r.category == Category.IMPROVED_BEYOND_NOISE:
        gain = -worse * r.observed_change
        mcid = find_mcid(measure=row.measure, stage=row.stage, rows=DEFAULT_MCID_ROWS)
        assert gain > r.noise_threshold and gain >= (mcid.value if mcid else 0)
    if r.category == Category.DECLINED_MORE_THAN_EXPECTED:
        assert worse * r.observed_change > r.noise_threshold


def test_every_headline_and_caveat_has_japanese():
    for text in [*HEADLINES.values(), *CAVEATS.values()]:
        assert en(text) in JA
