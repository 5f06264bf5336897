"""Cohort analysis over every treated patient of a plan: slope per year and follow-up completeness.

No selection: every enrolled patient counts, including those with only a baseline score, and the
completeness table shows dropouts and missed visits next to the slope.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
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
    patient: list[str] = []
    months: list[float] = []
    score: list[float] = []
    for r in rows:
        value = r.get("score")
        if value is None:
            continue
        patient.append(str(r["patient"]))
        months.append(float(r["months"]))
        score.append(float(value))
    m = np.asarray(months, dtype=float)
    y = np.asarray(score, dtype=float)
    keep = np.isfinite(m) & np.isfinite(y)
    return pd.DataFrame(
        {
            "patient": np.asarray(patient, dtype=object)[keep],
            "years": m[keep] / 12.0,
            "score": y[keep],
        },
        columns=["patient", "years", "score"],
    )


def _t_interval(estimate: float, se: float, df: int, level: float) -> tuple[float, float]:
    t = float(stats.t.ppf(0.5 + level / 2.0, max(df, 1)))
    return estimate - t * se, estimate + t * se


def _two_stage(df: pd.DataFrame, level: float) -> tuple[float, float, float, float] | None:
    """Mean of each patient's own least-squares slope, with a t interval across patients."""
    sums = _sufficient(df)
    n, st, stt = sums["n"], sums["st"], sums["stt"]
    spread = n * stt - st * st  # n² × variance of the patient's times: 0 with one distinct time
    distinct = df.groupby("patient", sort=False)["years"].nunique().to_numpy()
    ok = (distinct >= 2) & (spread > 0)
    if int(ok.sum()) < 2:
        return None
    arr = (n[ok] * sums["sty"][ok] - st[ok] * sums["sy"][ok]) / spread[ok]
    mean = float(arr.mean())
    se = float(arr.std(ddof=1) / math.sqrt(len(arr)))
    lo, hi = _t_interval(mean, se, len(arr) - 1, level)
    intercept = float(
        df.loc[df["years"] == df.groupby("patient")["years"].transform("min"), "score"].mean()
    )
    return mean, lo, hi, intercept


def _sufficient(df: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per-patient sums the linear mixed model needs, Z = [1, t]: Z'Z = [[n, st], [st, stt]],
    Z'y = (sy, sty) and y'y = syy, one array entry per patient."""
    codes, uniques = pd.factorize(df["patient"], sort=False)
    k = len(uniques)
    t = df["years"].to_numpy(dtype=float)
    y = df["score"].to_numpy(dtype=float)
    return {
        "n": np.bincount(codes, minlength=k).astype(float),
        "st": np.bincount(codes, t, minlength=k),
        "stt": np.bincount(codes, t * t, minlength=k),
        "sy": np.bincount(codes, y, minlength=k),
        "sty": np.bincount(codes, t * y, minlength=k),
        "syy": np.bincount(codes, y * y, minlength=k),
    }


@dataclass
class _RemlState:
    neg2ll: float
    beta: np.ndarray
    cov_beta: np.ndarray
    sigma2: float
    relative_cov: np.ndarray  # random-effects covariance divided by the residual variance


def _reml_state(chol: np.ndarray, sums: dict[str, np.ndarray], n_obs: int) -> _RemlState | None:
    """Restricted likelihood of y_ij = β0 + β1·t_ij + u0_i + u1_i·t_ij + e_ij at one value of the
    relative random-effects covariance Δ = L·Lᵀ (L lower triangular), σ² and β profiled out.

    Per patient V_i = σ²(I + Z_i Δ Z_iᵀ); by Woodbury and Sylvester every term reduces to the 2×2
    sums of ``_sufficient``: V_i⁻¹ = σ⁻²(I − Z_i M_i Z_iᵀ) with M_i = L (I + Lᵀ A_i L)⁻¹ Lᵀ and
    A_i = Z_iᵀZ_i, and log|I + Z_i Δ Z_iᵀ| = log|I + Lᵀ A_i L|. One evaluation is therefore a few
    dozen array operations over all patients (2×2 algebra written out), not a loop over patients.
    """
    l0, l1, l2 = float(chol[0, 0]), float(chol[1, 0]), float(chol[1, 1])
    n, st, stt = sums["n"], sums["st"], sums["stt"]
    b0, b1 = sums["sy"], sums["sty"]
    # S = I + LᵀAL (symmetric positive definite) and its inverse.
    s00 = 1.0 + l0 * l0 * n + 2.0 * l0 * l1 * st + l1 * l1 * stt
    s01 = l2 * (l0 * st + l1 * stt)
    s11 = 1.0 + l2 * l2 * stt
    det = s00 * s11 - s01 * s01
    if not np.all(det > 0):
        return None
    i00, i01, i11 = s11 / det, -s01 / det, s00 / det
    # M = L S⁻¹ Lᵀ
    m00 = l0 * l0 * i00
    m01 = l0 * (l1 * i00 + l2 * i01)
    m11 = l1 * l1 * i00 + 2.0 * l1 * l2 * i01 + l2 * l2 * i11
    # A M and A M A (A symmetric)
    am00, am01 = n * m00 + st * m01, n * m01 + st * m11
    am10, am11 = st * m00 + stt * m01, st * m01 + stt * m11
    p = np.array(
        [
            [
                float((n - (am00 * n + am01 * st)).sum()),
                float((st - (am00 * st + am01 * stt)).sum()),
            ],
            [0.0, float((stt - (am10 * st + am11 * stt)).sum())],
        ]
    )
    p[1, 0] = p[0, 1]
    mb0, mb1 = m00 * b0 + m01 * b1, m01 * b0 + m11 * b1
    q = np.array(
        [float((b0 - (n * mb0 + st * mb1)).sum()), float((b1 - (st * mb0 + stt * mb1)).sum())]
    )
    r = float((sums["syy"] - (b0 * mb0 + b1 * mb1)).sum())
    det_p = p[0, 0] * p[1, 1] - p[0, 1] * p[1, 0]
    if not det_p > 0:
        return None
    p_inv = np.array([[p[1, 1], -p[0, 1]], [-p[1, 0], p[0, 0]]]) / det_p
    beta = p_inv @ q
    rss = r - float(q @ beta)
    dof = n_obs - 2
    if not (dof > 0 and rss > 0 and math.isfinite(rss)):
        return None
    sigma2 = rss / dof
    neg2ll = dof * math.log(sigma2) + float(np.log(det).sum()) + math.log(det_p)
    return _RemlState(neg2ll, beta, sigma2 * p_inv, sigma2, chol @ chol.T)


def _fit_reml(df: pd.DataFrame, *, random_slope: bool) -> tuple[_RemlState | None, str]:
    """REML estimates by minimising the profiled criterion over the Cholesky factor of Δ."""
    from scipy.optimize import minimize

    sums = _sufficient(df)
    n_obs = len(df)

    def chol_of(x: np.ndarray) -> np.ndarray:
        if random_slope:
            return np.array([[x[0], 0.0], [x[1], x[2]]])
        return np.array([[x[0], 0.0], [0.0, 0.0]])

    def objective(x: np.ndarray) -> float:
        state = _reml_state(chol_of(x), sums, n_obs)
        return state.neg2ll if state is not None else 1e300

    start = np.array([1.0, 0.0, 1.0] if random_slope else [1.0])
    best = None
    for method in ("L-BFGS-B", "Powell"):
        res = minimize(objective, start, method=method)
        if res.success and math.isfinite(res.fun) and res.fun < 1e299:
            best = res
            break
    if best is None:
        return None, "not_converged"
    state = _reml_state(chol_of(best.x), sums, n_obs)
    if state is None:
        return None, "failed"
    return state, ""


def _mixedlm(
    df: pd.DataFrame, *, random_slope: bool, level: float, n_patients: int
) -> tuple[CohortFit | None, list[str]]:
    notes: list[str] = []
    with np.errstate(all="ignore"):
        state, problem = _fit_reml(df, random_slope=random_slope)
    if state is None:
        return None, [problem]
    slope = float(state.beta[1])
    se = math.sqrt(state.cov_beta[1, 1]) if state.cov_beta[1, 1] > 0 else float("nan")
    if not math.isfinite(se) or se <= 0:
        return None, ["failed"]
    # Wald intervals with normal quantiles are too narrow for a handful of patients: use t with n−1 df.
    lo, hi = _t_interval(slope, se, n_patients - 1, level)
    slope_sd = None
    if random_slope:
        var = float(state.sigma2 * state.relative_cov[1, 1])
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
        intercept=float(state.beta[0]),
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


# Changes whenever the fit's method changes, so estimates stored by an older method are redone.
FIT_VERSION = "reml-sums-1"


def fit_fingerprint(
    *,
    rows: Sequence[Mapping[str, Any]],
    enrolled: Sequence[Hashable],
    reference: ReferenceRow | None,
    notes: Sequence[str] = (),
    level: float = 0.95,
) -> str:
    """SHA-256 of exactly what ``fit_cohort`` reads, so a stored estimate can be matched to the data."""
    digest = hashlib.sha256(f"{FIT_VERSION}\x1e{level!r}\x1e".encode())
    digest.update("\x1f".join(str(r["patient"]) for r in rows).encode())
    digest.update(b"\x1e")
    digest.update(np.asarray([float(r["months"]) for r in rows], dtype=float).tobytes())
    digest.update(
        np.asarray(
            [float("nan") if r.get("score") is None else float(r["score"]) for r in rows],
            dtype=float,
        ).tobytes()
    )
    digest.update(b"\x1e")
    digest.update("\x1f".join(sorted({str(p) for p in enrolled})).encode())
    ref = (
        ""
        if reference is None
        else f"{reference.measure}|{reference.stage}|{reference.annual_change!r}|"
        f"{reference.sd!r}|{reference.source}|{reference.uncertain}"
    )
    digest.update(f"\x1e{ref}\x1e{'|'.join(notes)}".encode())
    return digest.hexdigest()


def fit_to_json(fit: CohortFit) -> dict[str, Any]:
    return asdict(fit)


def fit_from_json(data: Mapping[str, Any]) -> CohortFit:
    known = {f.name for f in fields(CohortFit)}
    return CohortFit(**{k: v for k, v in data.items() if k in known})


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
