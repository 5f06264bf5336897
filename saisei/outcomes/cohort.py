"""Cohort analysis over every treated patient of a plan: slope per year and follow-up completeness.

No selection: every enrolled patient counts, including those with only a baseline score, and the
completeness table shows dropouts and missed visits next to the slope.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from saisei.outcomes.reference import ReferenceRow

MIN_PATIENTS_FOR_MODEL = 5
FEW_PATIENTS = 10


@dataclass
class CohortFit:
    """Mean annual slope with its confidence interval, how it was obtained and what to distrust."""

    slope_per_year: float | None
    ci_low: float | None
    ci_high: float | None
    n_patients: int  # patients with at least one score
    n_obs: int
    method: str  # mixedlm_slope | mixedlm_intercept | two_stage | none
    warnings: list[str] = field(default_factory=list)
    level: float = 0.95
    intercept: float | None = None
    slope_sd_between: float | None = None  # SD of patients' own slopes (random-slope model only)
    n_enrolled: int | None = None
    n_patients_with_follow_up: int = 0
    reference_annual_change: float | None = None
    reference_source: str = ""

    @property
    def ci_width(self) -> float | None:
        if self.ci_low is None or self.ci_high is None:
            return None
        return self.ci_high - self.ci_low


def _frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    data = [
        {
            "patient": str(r["patient"]),
            "years": float(r["months"]) / 12.0,
            "score": float(r["score"]),
        }
        for r in rows
        if r.get("score") is not None
        and math.isfinite(float(r["score"]))
        and math.isfinite(float(r["months"]))
    ]
    return pd.DataFrame(data, columns=["patient", "years", "score"])


def _t_interval(estimate: float, se: float, df: int, level: float) -> tuple[float, float]:
    t = float(stats.t.ppf(0.5 + level / 2.0, max(df, 1)))
    return estimate - t * se, estimate + t * se


def _two_stage(df: pd.DataFrame, level: float) -> tuple[float, float, float, float] | None:
    """Mean of each patient's own least-squares slope, with a t interval across patients."""
    slopes = []
    for _pid, g in df.groupby("patient"):
        if g["years"].nunique() >= 2:
            slopes.append(float(np.polyfit(g["years"], g["score"], 1)[0]))
    if len(slopes) < 2:
        return None
    arr = np.asarray(slopes)
    mean = float(arr.mean())
    se = float(arr.std(ddof=1) / math.sqrt(len(arr)))
    lo, hi = _t_interval(mean, se, len(arr) - 1, level)
    intercept = float(
        df.loc[df["years"] == df.groupby("patient")["years"].transform("min"), "score"].mean()
    )
    return mean, lo, hi, intercept


def _mixedlm(
    df: pd.DataFrame, *, random_slope: bool, level: float, n_patients: int
) -> tuple[CohortFit | None, list[str]]:
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        # Convergence trouble is expected with small clinic cohorts; we record it instead of printing it.
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        try:
            model = smf.mixedlm(
                "score ~ years",
                df,
                groups=df["patient"],
                re_formula="~years" if random_slope else "1",
            )
            result = model.fit(reml=True, method=["lbfgs", "powell"])
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError):
            return None, ["failed"]
    if any(issubclass(w.category, ConvergenceWarning) for w in caught) or not getattr(
        result, "converged", True
    ):
        notes.append("not_converged")
        return None, notes
    slope = float(result.fe_params["years"])
    se = float(result.bse_fe["years"])
    if not math.isfinite(se) or se <= 0:
        return None, ["failed"]
    # Wald intervals with normal quantiles are too narrow for a handful of patients: use t with n−1 df.
    lo, hi = _t_interval(slope, se, n_patients - 1, level)
    slope_sd = None
    if random_slope:
        cov = np.asarray(result.cov_re)
        var = float(cov[-1, -1]) if cov.size else 0.0
        slope_sd = math.sqrt(var) if var > 0 else 0.0
        if var <= 1e-8:
            notes.append("no_between_patient_slope_variation")
    fit = CohortFit(
        slope_per_year=slope,
        ci_low=lo,
        ci_high=hi,
        n_patients=n_patients,
        n_obs=len(df),
        method="mixedlm_slope" if random_slope else "mixedlm_intercept",
        level=level,
        intercept=float(result.fe_params["Intercept"]),
        slope_sd_between=slope_sd,
    )
    return fit, notes


def fit_cohort(
    *,
    rows: Sequence[Mapping[str, Any]],
    enrolled: Sequence[Hashable] | None = None,
    reference: ReferenceRow | None = None,
    level: float = 0.95,
) -> CohortFit:
    """Mixed-effects model of score over time (random intercept and slope per patient).

    Falls back to a random-intercept model, then to the mean of per-patient slopes, when the
    model fails or the data are too few; intervals use t quantiles on n_patients − 1 df, so they
    are honestly wide in small cohorts. ``rows``: ``{"patient", "months", "score"}``.
    """
    df = _frame(rows)
    warn: list[str] = []
    n_patients = int(df["patient"].nunique()) if len(df) else 0
    counts = df.groupby("patient")["years"].nunique() if len(df) else pd.Series(dtype=int)
    with_follow_up = int((counts >= 2).sum())
    n_enrolled = None
    if enrolled is not None:
        n_enrolled = len({str(p) for p in enrolled})
        missing = n_enrolled - len({str(p) for p in enrolled} & set(df["patient"]))
        if missing:
            warn.append("enrolled_without_scores")
    if n_patients - with_follow_up > 0:
        warn.append("patients_with_baseline_only")
    if n_patients < FEW_PATIENTS:
        warn.append("few_patients")

    def done(fit: CohortFit) -> CohortFit:
        fit.warnings = [*warn, *fit.warnings]
        fit.n_enrolled = n_enrolled
        fit.n_patients_with_follow_up = with_follow_up
        if reference is not None:
            fit.reference_annual_change = reference.annual_change
            fit.reference_source = reference.source
        return fit

    if with_follow_up < 2 or len(df) < 4:
        warn.append("too_few_data")
        return done(CohortFit(None, None, None, n_patients, len(df), "none", level=level))

    if with_follow_up >= MIN_PATIENTS_FOR_MODEL:
        for random_slope in (True, False):
            fit, notes = _mixedlm(df, random_slope=random_slope, level=level, n_patients=n_patients)
            warn.extend(f"{'slope' if random_slope else 'intercept'}_model_{n}" for n in notes)
            if fit is not None:
                if not random_slope:
                    fit.warnings.append("random_slope_dropped")
                return done(fit)
    else:
        warn.append("model_skipped_few_patients")
    two = _two_stage(df, level)
    if two is None:
        warn.append("too_few_data")
        return done(CohortFit(None, None, None, n_patients, len(df), "none", level=level))
    mean, lo, hi, intercept = two
    return done(
        CohortFit(mean, lo, hi, n_patients, len(df), "two_stage", level=level, intercept=intercept)
    )


@dataclass(frozen=True)
class VisitCompleteness:
    month: float
    due: int  # enrolled patients for whom this visit is due (dropouts included)
    done: int
    missed: int  # due, not done, patient still in follow-up
    dropped_out: int  # due, not done, patient left before the visit

    @property
    def fraction(self) -> float | None:
        return self.done / self.due if self.due else None


@dataclass
class Completeness:
    """Who was assessed when, so completers are never mistaken for the whole cohort."""

    n_enrolled: int
    n_with_baseline: int
    n_dropped_out: int
    visits: list[VisitCompleteness]
    dropout_reasons: dict[str, int]
    patients_without_follow_up: list[str]

    @property
    def overall_fraction(self) -> float | None:
        due = sum(v.due for v in self.visits)
        return sum(v.done for v in self.visits) / due if due else None


def completeness(
    *,
    enrolled: Sequence[Hashable],
    schedule_months: Sequence[float],
    rows: Sequence[Mapping[str, Any]],
    elapsed_months: Mapping[Hashable, float] | None = None,
    dropouts: Mapping[Hashable, tuple[float, str]] | None = None,
    window_months: float = 1.5,
) -> Completeness:
    """Per scheduled visit: how many enrolled patients were due, assessed, missed or had dropped out.

    A visit is due once the patient's elapsed time reaches it (all visits are due if elapsed time is
    unknown); it counts as done if any score lies within ``window_months`` of it.
    """
    elapsed = {str(k): float(v) for k, v in (elapsed_months or {}).items()}
    drops = {str(k): (float(v[0]), v[1]) for k, v in (dropouts or {}).items()}
    patients = list(dict.fromkeys(str(p) for p in enrolled))
    times: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r.get("score") is not None:
            times[str(r["patient"])].append(float(r["months"]))
    visits = []
    for month in schedule_months:
        due = done = missed = dropped = 0
        for p in patients:
            if p in elapsed and elapsed[p] + 1e-9 < month:
                continue
            due += 1
            if any(abs(t - month) <= window_months for t in times.get(p, [])):
                done += 1
            elif p in drops and drops[p][0] <= month + window_months:
                dropped += 1
            else:
                missed += 1
        visits.append(VisitCompleteness(float(month), due, done, missed, dropped))
    reasons: dict[str, int] = defaultdict(int)
    for p, (_m, reason) in drops.items():
        if p in patients:
            reasons[reason] += 1
    first = min(schedule_months) if schedule_months else 0.0
    with_baseline = sum(
        1 for p in patients if any(abs(t - first) <= window_months for t in times.get(p, []))
    )
    no_follow = [p for p in patients if len({round(t, 6) for t in times.get(p, [])}) < 2]
    return Completeness(
        n_enrolled=len(patients),
        n_with_baseline=with_baseline,
        n_dropped_out=sum(1 for p in drops if p in patients),
        visits=visits,
        dropout_reasons=dict(reasons),
        patients_without_follow_up=no_follow,
    )
