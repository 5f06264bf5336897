"""Cohort slope recovery, honest intervals with few data, and follow-up completeness."""

import numpy as np
import pytest

from saisei.outcomes.cohort import completeness, fit_cohort
from saisei.outcomes.reference import DEFAULT_REFERENCE_ROWS, find_reference


def synthetic(*, n, visits, slope, slope_sd, noise, seed, baseline=22.0, dropout_after=None):
    """Scores from a random-intercept, random-slope model with known parameters."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        a = rng.normal(baseline, 3.0)
        b = rng.normal(slope, slope_sd)
        last = dropout_after(rng) if dropout_after else max(visits)
        for m in visits:
            if m <= last:
                rows.append(
                    {
                        "patient": f"P{i:03d}",
                        "months": m,
                        "score": a + b * m / 12 + rng.normal(0, noise),
                    }
                )
    return rows


@pytest.mark.parametrize(("seed", "slope"), [(11, -2.0), (12, -3.4), (13, 1.5)])
def test_mixed_model_recovers_a_known_slope(seed, slope):
    rows = synthetic(
        n=40, visits=[0, 6, 12, 18, 24], slope=slope, slope_sd=1.0, noise=1.0, seed=seed
    )
    fit = fit_cohort(rows=rows)
    assert fit.method == "mixedlm_slope"
    assert fit.slope_per_year == pytest.approx(slope, abs=0.5)
    assert fit.ci_low < slope < fit.ci_high
    assert fit.slope_sd_between == pytest.approx(1.0, abs=0.5)
    assert fit.n_patients == 40 and fit.n_obs == 200


def test_dropouts_still_count_and_are_reported():
    rows = synthetic(
        n=30,
        visits=[0, 6, 12, 18],
        slope=-2.0,
        slope_sd=0.8,
        noise=1.0,
        seed=21,
        dropout_after=lambda rng: rng.choice([0, 6, 12, 18], p=[0.1, 0.1, 0.2, 0.6]),
    )
    fit = fit_cohort(rows=rows, enrolled=[f"P{i:03d}" for i in range(32)])
    assert fit.n_patients == 30  # baseline-only patients are in the model, not dropped
    assert fit.n_enrolled == 32
    assert "enrolled_without_scores" in fit.warnings
    assert "patients_with_baseline_only" in fit.warnings
    assert fit.slope_per_year == pytest.approx(-2.0, abs=0.8)


def test_few_patients_give_a_wide_interval_and_say_why():
    many = fit_cohort(
        rows=synthetic(n=40, visits=[0, 6, 12], slope=-2.0, slope_sd=1.0, noise=1.0, seed=31)
    )
    few = fit_cohort(
        rows=synthetic(n=3, visits=[0, 6, 12], slope=-2.0, slope_sd=1.0, noise=1.0, seed=31)
    )
    assert few.method == "two_stage"
    assert "few_patients" in few.warnings
    assert few.ci_width > 3 * many.ci_width


def test_too_few_data_gives_no_slope_rather_than_a_false_one():
    fit = fit_cohort(
        rows=[
            {"patient": "A", "months": 0, "score": 20},
            {"patient": "A", "months": 6, "score": 19},
        ]
    )
    assert fit.slope_per_year is None and fit.ci_low is None
    assert fit.method == "none" and "too_few_data" in fit.warnings


def test_reference_is_reported_next_to_the_slope():
    ref = find_reference(measure="MMSE", stage="mild_ad", rows=DEFAULT_REFERENCE_ROWS)
    fit = fit_cohort(
        rows=synthetic(n=12, visits=[0, 6, 12], slope=-2.0, slope_sd=1.0, noise=1.0, seed=41),
        reference=ref,
    )
    assert fit.reference_annual_change == -2.0
    assert "CERAD" in fit.reference_source


def test_identical_scores_do_not_crash_the_model():
    rows = [{"patient": f"P{i}", "months": m, "score": 20.0} for i in range(8) for m in (0, 6, 12)]
    fit = fit_cohort(rows=rows)
    assert fit.slope_per_year == pytest.approx(0.0, abs=1e-6) or fit.slope_per_year is None


def test_completeness_counts_every_enrolled_patient():
    rows = [
        {"patient": "A", "months": 0, "score": 22},
        {"patient": "A", "months": 6.3, "score": 21},
        {"patient": "A", "months": 12, "score": 21},
        {"patient": "B", "months": 0, "score": 20},
        {"patient": "C", "months": 0.5, "score": 25},
        {"patient": "C", "months": 6, "score": 25},
    ]
    c = completeness(
        enrolled=["A", "B", "C", "D"],
        schedule_months=[0, 6, 12],
        rows=rows,
        elapsed_months={"C": 8, "D": 13},
        dropouts={"B": (4, "moved to a care home")},
    )
    assert c.n_enrolled == 4 and c.n_with_baseline == 3 and c.n_dropped_out == 1
    v0, v6, v12 = c.visits
    assert (v0.due, v0.done, v0.missed) == (4, 3, 1)  # D never assessed
    assert (v6.due, v6.done, v6.dropped_out, v6.missed) == (4, 2, 1, 1)
    assert (v12.due, v12.done, v12.dropped_out, v12.missed) == (3, 1, 1, 1)  # C not yet due
    assert c.dropout_reasons == {"moved to a care home": 1}
    assert set(c.patients_without_follow_up) == {"B", "D"}
    assert c.overall_fraction == pytest.approx(6 / 11)


@pytest.mark.parametrize("random_slope", [True, False])
def test_vectorised_fit_matches_statsmodels_mixedlm(random_slope):
    """The closed-form REML over per-patient sums gives statsmodels' MixedLM estimates."""
    import statsmodels.formula.api as smf

    from saisei.outcomes.cohort import _frame, _mixedlm

    rows = synthetic(n=30, visits=[0, 6, 12, 18], slope=-2.5, slope_sd=1.0, noise=1.0, seed=51)
    df = _frame(rows)
    ours, notes = _mixedlm(df, random_slope=random_slope, level=0.95, n_patients=30)
    ref = smf.mixedlm(
        "score ~ years", df, groups=df["patient"], re_formula="~years" if random_slope else "1"
    ).fit(reml=True, method=["lbfgs", "powell"])
    assert ours is not None and notes == []
    assert ours.slope_per_year == pytest.approx(float(ref.fe_params["years"]), abs=1e-4)
    assert ours.intercept == pytest.approx(float(ref.fe_params["Intercept"]), abs=1e-4)
    from scipy import stats

    se = (ours.ci_high - ours.slope_per_year) / float(stats.t.ppf(0.975, 29))
    assert se == pytest.approx(float(ref.bse_fe["years"]), rel=1e-3)
    if random_slope:
        sd = float(np.sqrt(np.asarray(ref.cov_re)[-1, -1]))
        assert ours.slope_sd_between == pytest.approx(sd, rel=1e-2)


def test_two_stage_slopes_are_each_patients_least_squares_slope():
    from saisei.outcomes.cohort import _frame, _two_stage

    rows = synthetic(n=4, visits=[0, 6, 12], slope=-2.0, slope_sd=1.0, noise=1.0, seed=61)
    rows.append({"patient": "ONLY-BASELINE", "months": 0, "score": 20.0})
    df = _frame(rows)
    expected = [
        np.polyfit(g["years"], g["score"], 1)[0]
        for p, g in df.groupby("patient")
        if g["years"].nunique() >= 2
    ]
    mean, _lo, _hi, _intercept = _two_stage(df, 0.95)
    assert mean == pytest.approx(float(np.mean(expected)))
