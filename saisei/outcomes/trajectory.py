"""Reading one patient's scores against the natural-history expectation, without over-claiming.

DESIGN invariant 8: a patient-facing statement never claims more than the evidence. So the reading
never says "improved" unless the change beats measurement noise and the MCID, never credits the
treatment, and always lists the reasons a change can mislead (practice effects, regression to the
mean, measurement noise, informant bias).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext_lazy as _

from saisei.core.errors import ValidationFailed
from saisei.outcomes.instruments import Respondent, measure_info
from saisei.outcomes.reference import (
    DEFAULT_MCID_ROWS,
    DEFAULT_REFERENCE_ROWS,
    DEFAULT_SEM_ROWS,
    McidRow,
    MeasurementErrorRow,
    ReferenceRow,
    band_half_width,
    expected_change,
    find_mcid,
    find_reference,
    find_sem,
    reliable_change,
)

DAYS_PER_MONTH = 365.25 / 12
# CERAD: individual MMSE slopes are unreliable under about 3 years (CERAD, n=372). For other
# measures a year is the least over which an annual expectation means anything [ASSUMPTION].
DEFAULT_RELIABLE_FOLLOW_UP_MONTHS: Mapping[str, float] = {"MMSE": 36.0}
FALLBACK_RELIABLE_FOLLOW_UP_MONTHS = 12.0


class Category(StrEnum):
    INSUFFICIENT_DATA = "insufficient_data"
    STAGE_UNKNOWN = "stage_unknown"
    NO_REFERENCE = "no_reference"
    WITHIN_EXPECTED = "within_expected"
    LESS_DECLINE_WITHIN_VARIATION = "less_decline_within_variation"
    LESS_DECLINE_BEYOND_VARIATION = "less_decline_beyond_variation"
    IMPROVED_BEYOND_NOISE = "improved_beyond_noise"
    DECLINED_MORE_THAN_EXPECTED = "declined_more_than_expected"


FAVOURABLE = frozenset(
    {
        Category.LESS_DECLINE_WITHIN_VARIATION,
        Category.LESS_DECLINE_BEYOND_VARIATION,
        Category.IMPROVED_BEYOND_NOISE,
    }
)

HEADLINES: dict[Category, Any] = {
    Category.INSUFFICIENT_DATA: _(
        "There are not enough assessments over time yet to judge a change."
    ),
    Category.STAGE_UNKNOWN: _(
        "The stage of the illness is not known, so these scores are not compared with a course expected without treatment. Without that comparison a change over time cannot be judged."
    ),
    Category.NO_REFERENCE: _(
        "No expected course without treatment is set for this measure and stage, so the change cannot be compared with it."
    ),
    Category.WITHIN_EXPECTED: _("Within the range expected without treatment."),
    Category.LESS_DECLINE_WITHIN_VARIATION: _(
        "Declined less than expected, but within normal variation."
    ),
    Category.LESS_DECLINE_BEYOND_VARIATION: _(
        "Changed less than expected without treatment, by more than normal variation. On its own this does not show that the treatment is the reason."
    ),
    Category.IMPROVED_BEYOND_NOISE: _(
        "The score is better than at the start by more than measurement noise. Changes like this also happen without treatment, so on its own this does not show that the treatment is the reason."
    ),
    Category.DECLINED_MORE_THAN_EXPECTED: _(
        "Declined more than expected without treatment. Please talk this over with the doctor."
    ),
}

CAVEATS: dict[str, Any] = {
    "not_attributable": _(
        "Without a comparison group, one person's change cannot be credited to the treatment: many people change this way without treatment."
    ),
    "measurement_noise": _(
        "The change is within measurement noise: the same test repeated on the same day could differ by this much."
    ),
    "practice_effect": _(
        "Scores often rise on the second or third testing because the test has become familiar (practice effect)."
    ),
    "regression_to_mean": _(
        "The starting score comes from a single assessment; if that was a bad day, later scores look better without any real change."
    ),
    "short_follow_up": _(
        "The follow-up is still short; a single person's rate of change is unreliable over a short time."
    ),
    "informant_rated": _(
        "This score is reported by a family member or carer, and hopes or worries after a treatment can shift such ratings."
    ),
    "unblinded_rater": _(
        "The rating draws on an interview with family members who know about the treatment, which can colour it; a rater who does not know the treatment status is more reliable."
    ),
    "not_validated": _(
        "This diary is the clinic's own tool and has not been scientifically validated."
    ),
    "not_demonstrated": _(
        "Better sleep, calmer behaviour, less evening confusion or recognising family have not been shown to follow stem-cell treatment in controlled trials."
    ),
    "stage_reversal": _(
        "Functional stages are normally passed through in order; a lasting return to an earlier stage is a reason to review the diagnosis or the rating, not a sign of recovery."
    ),
    "reference_uncertain": _(
        "The expected course used here is an uncertain estimate and may be revised."
    ),
    "no_measurement_error": _(
        "Measurement noise for this measure is not configured, so the range shown is narrower than it should be."
    ),
}


@dataclass(frozen=True)
class Caveat:
    code: str
    text: Any


@dataclass(frozen=True)
class PathPoint:
    """A point on the expected course without treatment, with its prediction band."""

    on: date
    months: float
    expected: float
    lower: float
    upper: float


@dataclass
class Reading:
    """Plain-language reading of one measure for one patient, with the numbers behind it."""

    measure: str
    stage: str | None  # None: the stage is unknown, so nothing is compared with natural history
    category: Category
    text: Any
    caveats: list[Caveat] = field(default_factory=list)
    expected_path: list[PathPoint] = field(default_factory=list)
    baseline: float | None = None
    baseline_date: date | None = None
    baseline_n: int = 0
    latest: float | None = None
    latest_date: date | None = None
    months: float | None = None
    observed_change: float | None = None
    expected_change: float | None = None
    lower: float | None = None
    upper: float | None = None
    noise_threshold: float | None = None
    mcid: float | None = None
    level: float = 0.90
    source: str = ""

    @property
    def caveat_codes(self) -> list[str]:
        return [c.code for c in self.caveats]


# Measures behind the usual marketing claims (sleep, agitation, sundowning, recognising family):
# none was a primary or confirmed outcome in published MSC trials for Alzheimer's disease.
MARKETED_CLAIM_MEASURES = frozenset({"DIARY", "NPI-Q-SEVERITY", "NPI-Q-DISTRESS", "NPI"})


def _sustained_reversal(obs: Sequence[tuple[date, float]]) -> bool:
    """FAST: the last two ratings both sit below a stage already reached (FAST is ordinal, Reisberg 1988)."""
    if len(obs) < 3:
        return False
    peak = max(s for _d, s in obs[:-2])
    return obs[-1][1] < peak and obs[-2][1] < peak


def months_between(start: date, end: date) -> float:
    return (end - start).days / DAYS_PER_MONTH


def _check_observations(
    measure: str, observations: Sequence[tuple[date, float]]
) -> list[tuple[date, float]]:
    info = measure_info(measure)
    clean: list[tuple[date, float]] = []
    for on, score in observations:
        if (
            not isinstance(on, date)
            or isinstance(score, bool)
            or not isinstance(score, int | float | Decimal)
        ):
            raise ValidationFailed(
                "outcomes.invalid_observation",
                _("Each observation needs a date and a numeric score."),
            )
        if not math.isfinite(float(score)) or info.range.problem(float(score)) == "out_of_range":
            raise ValidationFailed(
                "outcomes.invalid_observation",
                _("An observed score is outside the instrument's range."),
            )
        clean.append((on, float(score)))
    clean.sort(key=lambda o: o[0])
    return clean


def _path(
    *,
    measure: str,
    stage: str,
    baseline: float,
    start: date,
    until_months: float,
    baseline_n: int,
    level: float,
    reference_rows: Sequence[ReferenceRow],
    sem_rows: Sequence[MeasurementErrorRow],
    mcid_rows: Sequence[McidRow],
) -> list[PathPoint]:
    step = max(1.0, math.ceil(until_months / 60.0))
    points: list[PathPoint] = []
    m = 0.0
    while True:
        ex = expected_change(
            measure=measure,
            stage=stage,
            baseline=baseline,
            months=m,
            reference_rows=reference_rows,
            mcid_rows=mcid_rows,
            sem_rows=sem_rows,
            level=level,
            baseline_n=baseline_n,
        )
        points.append(
            PathPoint(
                start + timedelta(days=round(m * DAYS_PER_MONTH)),
                m,
                ex["expected"],
                ex["lower"],
                ex["upper"],
            )
        )
        if m >= until_months:
            return points
        m = min(m + step, until_months)


def read_trajectory(
    *,
    measure: str,
    stage: str | None,
    observations: Sequence[tuple[date, float]],
    baseline_until: date | None = None,
    reference_rows: Sequence[ReferenceRow] = DEFAULT_REFERENCE_ROWS,
    mcid_rows: Sequence[McidRow] = DEFAULT_MCID_ROWS,
    sem_rows: Sequence[MeasurementErrorRow] = DEFAULT_SEM_ROWS,
    level: float = 0.90,
    horizon_months: float | None = None,
    reliable_follow_up_months: Mapping[str, float] = DEFAULT_RELIABLE_FOLLOW_UP_MONTHS,
) -> Reading:
    """Compare the latest score with the expected course from baseline and say what it can and cannot mean.

    Baseline is the mean of every observation on or before ``baseline_until`` (the first one if
    None), which reduces regression to the mean. "Improved" requires the gain to exceed both the
    reliable-change threshold (1.96·√2·SEM) and the MCID; "declined more" requires the loss to
    exceed both the prediction band and that threshold; "declined less than expected" needs a
    shortfall of at least the MCID. With ``stage`` None (unknown) nothing is compared: no
    expected course, no band, no MCID, and the reading says why.
    """
    info = measure_info(measure)
    obs = _check_observations(measure, observations)
    reading = Reading(
        measure=measure,
        stage=stage,
        category=Category.INSUFFICIENT_DATA,
        text=HEADLINES[Category.INSUFFICIENT_DATA],
        level=level,
    )
    caveats = _instrument_caveats(measure, obs)
    if not obs:
        return _finish(reading, caveats)
    base_obs, follow = _split_baseline(obs, baseline_until)
    baseline = sum(s for _d, s in base_obs) / len(base_obs)
    reading.baseline, reading.baseline_date, reading.baseline_n = (
        baseline,
        base_obs[-1][0],
        len(base_obs),
    )
    sem_row = find_sem(measure=measure, rows=sem_rows)
    row = find_reference(measure=measure, stage=stage, rows=reference_rows) if stage else None
    noise = _set_thresholds(reading, caveats, sem_row=sem_row, mcid_rows=mcid_rows)
    if info.instrument.respondent == Respondent.PATIENT_PERFORMANCE and len(obs) <= 3:
        caveats.append("practice_effect")

    latest_date, latest = follow[-1] if follow else (reading.baseline_date, baseline)
    months = months_between(reading.baseline_date, latest_date)
    reading.latest, reading.latest_date, reading.months = latest, latest_date, months
    if stage is None:
        reading.category = Category.STAGE_UNKNOWN
    tables = _Tables(reference_rows, mcid_rows, sem_rows)
    if row is not None and stage is not None:
        until = max(months, horizon_months or 0.0)
        _attach_path(reading, caveats, row=row, stage=stage, until=until, tables=tables)
    if not follow or months <= 0:
        return _finish(reading, caveats)
    reading.observed_change = latest - baseline
    limit = reliable_follow_up_months.get(measure, FALLBACK_RELIABLE_FOLLOW_UP_MONTHS)
    if months < limit:
        caveats.append("short_follow_up")
    decline = (1.0 if info.higher_is_worse else -1.0) * (latest - baseline)  # > 0: worse
    if abs(decline) < noise:
        caveats.append("measurement_noise")
    if stage is None:
        return _finish(reading, caveats)  # STAGE_UNKNOWN: nothing to compare with
    if row is None:
        reading.category = Category.NO_REFERENCE
        return _finish(reading, caveats)
    _compare(
        reading, caveats, row=row, stage=stage, decline=decline, sem_row=sem_row, tables=tables
    )
    return _finish(reading, caveats)


@dataclass(frozen=True)
class _Tables:
    """The reference, MCID and measurement-error rows a reading is made against."""

    reference_rows: Sequence[ReferenceRow]
    mcid_rows: Sequence[McidRow]
    sem_rows: Sequence[MeasurementErrorRow]


def _attach_path(
    reading: Reading,
    caveats: list[str],
    *,
    row: ReferenceRow,
    stage: str,
    until: float,
    tables: _Tables,
) -> None:
    """Attach the expected course from baseline (and its source) up to ``until`` months."""
    if reading.baseline is None or reading.baseline_date is None:
        return
    reading.source = row.source
    if row.uncertain:
        caveats.append("reference_uncertain")
    reading.expected_path = _path(
        measure=reading.measure,
        stage=stage,
        baseline=reading.baseline,
        start=reading.baseline_date,
        until_months=until,
        baseline_n=reading.baseline_n,
        level=reading.level,
        reference_rows=tables.reference_rows,
        sem_rows=tables.sem_rows,
        mcid_rows=tables.mcid_rows,
    )


def _compare(
    reading: Reading,
    caveats: list[str],
    *,
    row: ReferenceRow,
    stage: str,
    decline: float,
    sem_row: MeasurementErrorRow | None,
    tables: _Tables,
) -> None:
    """Set the expected change, its band and the category of a reading that has a baseline, a
    later score, a stage and a reference row; add the caveats a favourable reading carries."""
    if reading.baseline is None or reading.months is None or reading.noise_threshold is None:
        return
    baseline, months, noise = reading.baseline, reading.months, reading.noise_threshold
    sem = sem_row.sem if sem_row else 0.0
    n = reading.baseline_n
    ex = expected_change(
        measure=reading.measure,
        stage=stage,
        baseline=baseline,
        months=months,
        reference_rows=tables.reference_rows,
        mcid_rows=tables.mcid_rows,
        sem_rows=tables.sem_rows,
        level=reading.level,
        baseline_n=n,
    )
    reading.expected_change = ex["expected"] - baseline
    reading.lower, reading.upper = ex["lower"], ex["upper"]
    reading.source = ex["source"]
    worse = 1.0 if measure_info(reading.measure).higher_is_worse else -1.0
    expected_decline = worse * row.annual_change * months / 12.0
    half = band_half_width(
        sd=row.sd, sem=sem, years=months / 12.0, level=reading.level, baseline_n=n
    )
    reading.category = _category(
        decline=decline,
        expected_decline=expected_decline,
        half=half,
        noise=noise,
        mcid=reading.mcid,
        sem=sem,
        has_sem=sem_row is not None,
    )
    if reading.category in FAVOURABLE:
        caveats.insert(0, "not_attributable")
        if n == 1:
            caveats.append("regression_to_mean")


def _set_thresholds(
    reading: Reading,
    caveats: list[str],
    *,
    sem_row: MeasurementErrorRow | None,
    mcid_rows: Sequence[McidRow],
) -> float:
    """Set the reading's noise threshold (reliable change, narrowed by a multi-visit baseline)
    and MCID; return the noise threshold."""
    stage = reading.stage
    mcid_row = find_mcid(measure=reading.measure, stage=stage, rows=mcid_rows) if stage else None
    sem = sem_row.sem if sem_row else 0.0
    if sem_row is None and stage is not None:  # with no stage there is no range to be too narrow
        caveats.append("no_measurement_error")
    noise = reliable_change(sem=sem) * math.sqrt(0.5 + 0.5 / reading.baseline_n)
    reading.noise_threshold = noise
    reading.mcid = mcid_row.value if mcid_row else None
    return noise


def _split_baseline(
    obs: list[tuple[date, float]], baseline_until: date | None
) -> tuple[list[tuple[date, float]], list[tuple[date, float]]]:
    """Baseline observations (on or before ``baseline_until``; the first one if None or none
    qualifies) and the follow-up observations after the last of them."""
    cut = baseline_until if baseline_until is not None else obs[0][0]
    base_obs = [o for o in obs if o[0] <= cut] or [obs[0]]
    return base_obs, [o for o in obs if o[0] > base_obs[-1][0]]


def _instrument_caveats(measure: str, obs: Sequence[tuple[date, float]]) -> list[str]:
    """The caveats that follow from the instrument itself and the shape of the observations."""
    info = measure_info(measure)
    caveats: list[str] = []
    if info.instrument.code == "DIARY" or not info.instrument.validated:
        caveats.append("not_validated")
    if info.instrument.respondent in (Respondent.CAREGIVER_PROXY, Respondent.CAREGIVER_SELF):
        caveats.append("informant_rated")
    if info.instrument.respondent == Respondent.INFORMANT_INTERVIEW:
        caveats.append("unblinded_rater")
    if measure in MARKETED_CLAIM_MEASURES:
        caveats.append("not_demonstrated")
    if measure == "FAST" and _sustained_reversal(obs):
        caveats.append("stage_reversal")
    return caveats


def _finish(reading: Reading, caveats: list[str]) -> Reading:
    """Attach the caveats (each once, in first-seen order) and the headline of the category."""
    seen: list[str] = []
    for code in caveats:
        if code not in seen:
            seen.append(code)
    reading.caveats = [Caveat(c, CAVEATS[c]) for c in seen]
    reading.text = HEADLINES[reading.category]
    return reading


def _category(
    *,
    decline: float,
    expected_decline: float,
    half: float,
    noise: float,
    mcid: float | None,
    sem: float,
    has_sem: bool,
) -> Category:
    """Place the observed decline against the expected one, its band and the noise threshold."""
    improvement = -decline
    needed_gain = max(noise, mcid or 0.0)
    # A shortfall smaller than the MCID (or one SEM without an MCID) is "as expected", not "less".
    meaningful_gap = mcid if mcid is not None else sem
    if decline > max(expected_decline + half, noise):
        return Category.DECLINED_MORE_THAN_EXPECTED
    if decline < expected_decline - max(half, noise):
        return (
            Category.IMPROVED_BEYOND_NOISE
            if has_sem and improvement > needed_gain
            else Category.LESS_DECLINE_BEYOND_VARIATION
        )
    if expected_decline - decline >= meaningful_gap:
        return Category.LESS_DECLINE_WITHIN_VARIATION
    return Category.WITHIN_EXPECTED
