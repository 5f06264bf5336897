"""Natural-history references: expected annual change without treatment, its spread, and MCIDs.

The defaults are rounded from published natural-history anchors (Mayo Clinic Study of Aging, ADNI,
CERAD, the CLARITY-AD and TRAILBLAZER-ALZ 2 placebo arms; MCIDs from the NACC analysis of Andrews
et al. 2019) and are data the clinic can edit (the Django
layer stores its own rows and passes them in). Where the sheet gives a range, the default takes
the end that makes a benefit *harder* to claim: the smallest expected decline. Rows the sheet
marks uncertain carry ``uncertain=True`` and the readings say so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, TypedDict

from django.utils.translation import gettext_lazy as _

from saisei.core.errors import ValidationFailed
from saisei.outcomes.instruments import MeasureInfo, measure_info

STAGES: dict[str, Any] = {
    "mci_ad": _("Mild cognitive impairment due to Alzheimer's disease"),
    "early_ad": _("Early Alzheimer's disease (MCI or mild dementia)"),
    "mild_ad": _("Mild Alzheimer's dementia"),
    "moderate_ad": _("Moderate Alzheimer's dementia"),
}


@dataclass(frozen=True)
class StageMapping:
    """Which natural-history stage a recorded (pre-screen) stage is compared with, and why."""

    recorded: str  # a journey pre-screen stage code
    stage: str  # a key of STAGES
    source: str


# A recorded stage without a row here (no cognitive impairment, severe dementia, or an MMSE above
# the mild range that cannot tell MCI from normal) has no natural-history reference: such a
# patient gets no expected band, never the mild-dementia one.
STAGE_FROM_RECORDED: dict[str, StageMapping] = {
    m.recorded: m
    for m in (
        StageMapping(
            "mci",
            "mci_ad",
            "CDR global 0.5, CDR-SB 0.5–4.0 (O'Bryant et al., Arch Neurol 2008) or FAST 3",
        ),
        StageMapping(
            "mild",
            "mild_ad",
            "CDR global 1, CDR-SB 4.5–9.0 (O'Bryant 2008), FAST 4 or MMSE 21–26 (NICE TA217)",
        ),
        StageMapping(
            "moderate",
            "moderate_ad",
            "CDR global 2, CDR-SB 9.5–15.5 (O'Bryant 2008), FAST 5 or MMSE 15–20 (NICE TA217)",
        ),
        StageMapping(
            "moderately_severe",
            "moderate_ad",
            "MMSE 10–14 lies inside NICE TA217's moderate range (10–20)",
        ),
    )
}


@dataclass(frozen=True)
class StageBasis:
    """The stage a patient's scores are compared with, where it came from, and why none if so.

    ``stage`` is None when no comparison may be made: the stage was never recorded, or the
    recorded stage has no natural-history reference. Never filled in with a default.
    """

    stage: str | None
    origin: str  # "course" (chosen by the physician) | "prescreen" | "none"
    recorded: str = ""
    scheme: str = ""
    recorded_on: Any = None

    @property
    def explanation(self) -> Any:
        if self.origin == "course" and self.stage:
            return _("Stage chosen by the doctor for this treatment course: %(stage)s.") % {
                "stage": STAGES[self.stage]
            }
        if self.origin == "prescreen" and self.stage:
            return _("Stage recorded at the pre-screening on %(date)s (%(scheme)s): %(stage)s.") % {
                "date": self.recorded_on,
                "scheme": self.scheme,
                "stage": STAGES[self.stage],
            }
        if self.recorded:
            return _(
                "The stage recorded at the pre-screening (%(recorded)s) has no expected course "
                "without treatment in the reference table, so the scores are not compared with "
                "one."
            ) % {"recorded": RECORDED_STAGE_LABELS.get(self.recorded, self.recorded)}
        return _(
            "The stage of the illness has not been recorded, so the scores are not compared "
            "with an expected course without treatment. The doctor can record it at the "
            "pre-screening or for the treatment course."
        )


RECORDED_STAGE_LABELS: dict[str, Any] = {
    "unimpaired": _("no cognitive impairment"),
    "mci": _("very mild or questionable impairment (MCI range)"),
    "mild": _("mild dementia"),
    "moderate": _("moderate dementia"),
    "moderately_severe": _("moderately severe dementia"),
    "severe": _("severe dementia"),
    "above_mild_range": _("above the mild-dementia range (cannot stage further)"),
}


def stage_basis(*, chosen: str = "", recorded: Any = None) -> StageBasis:
    """The comparison stage: the physician's choice for the course, else the recorded stage
    mapped through STAGE_FROM_RECORDED, else none (``recorded`` is a journey RecordedStage)."""
    if chosen:
        if chosen not in STAGES:
            return StageBasis(stage=None, origin="none")
        return StageBasis(stage=chosen, origin="course")
    if recorded is None:
        return StageBasis(stage=None, origin="none")
    mapping = STAGE_FROM_RECORDED.get(recorded.stage)
    return StageBasis(
        stage=mapping.stage if mapping else None,
        origin="prescreen" if mapping else "none",
        recorded=recorded.stage,
        scheme=recorded.scheme,
        recorded_on=recorded.recorded_on,
    )


@dataclass(frozen=True)
class ReferenceRow:
    """Expected change per year without treatment (signed, in score units) and its between-person SD."""

    measure: str
    stage: str
    annual_change: float
    sd: float
    source: str
    note: str = ""
    uncertain: bool = False


@dataclass(frozen=True)
class MeasurementErrorRow:
    """Standard error of measurement of one assessment (SEM), i.e. retest noise, in score units."""

    measure: str
    sem: float
    source: str
    note: str = ""
    uncertain: bool = False


@dataclass(frozen=True)
class McidRow:
    """Smallest within-patient change that clinicians judge meaningful, in the direction of worse."""

    measure: str
    stage: str | None  # None: applies to every stage without its own row
    value: float
    low: float
    high: float
    source: str
    note: str = ""
    uncertain: bool = False


_MCSA = "Mayo Clinic Study of Aging, AAN 2025 abstract: https://index.mirasmart.com/AAN2025/PDFfiles/AAN2025-004640.html"
_CLARITY = "CLARITY-AD placebo arm, CDR-SB +1.66 over 18 months: van Dyck et al., N Engl J Med 2023;388:9–21 (https://doi.org/10.1056/NEJMoa2212948)"
_ADNI = "ADNI-1 12-month change: Petersen et al., Neurology 2010;74:201–209 (https://pmc.ncbi.nlm.nih.gov/articles/PMC2809036)"
_CERAD = "CERAD probable AD, MMSE −3.4/yr: Clark et al., Arch Neurol 1999;56:857–862"
_PLACEBO_26WK = "Pooled placebo arms, 26-week ADAS-Cog decline 84% larger in moderate than mild AD (https://pubmed.ncbi.nlm.nih.gov/11723368)"
_RULE_SD = "estimate, not a published value: in the published cohorts the spread of individual annual change is about as large as the mean change; replace with values fitted to the clinic's or ADNI/NACC data"
_ANDREWS = "NACC anchor-based MCID, larger at more severe stages: Andrews et al., Alzheimers Dement (N Y) 2019;5:354–363 (https://pubmed.ncbi.nlm.nih.gov/31417957)"

DEFAULT_REFERENCE_ROWS: tuple[ReferenceRow, ...] = (
    # CDR-SB (higher = worse): positive change is decline.
    ReferenceRow(
        "CDR-SB",
        "mci_ad",
        0.5,
        0.8,
        _MCSA,
        "Published range +0.5 to +1.0; MCSA is probably an underestimate for established MCI.",
    ),
    ReferenceRow(
        "CDR-SB",
        "early_ad",
        1.1,
        1.1,
        f"{_CLARITY}; SD: {_RULE_SD}",
        "Published range +1.1 to +1.6 (CLARITY-AD, TRAILBLAZER-ALZ 2).",
    ),
    ReferenceRow(
        "CDR-SB",
        "mild_ad",
        1.5,
        1.5,
        f"Estimate set by Saisei, not a published value, between the early-AD placebo slopes ({_CLARITY}) and the ADNI and "
        f"CERAD mild-dementia anchors ({_ADNI}); SD: {_RULE_SD}",
        "Default range +1.5 to +2.",
        uncertain=True,
    ),
    ReferenceRow(
        "CDR-SB",
        "moderate_ad",
        2.0,
        2.0,
        f"Estimate set by Saisei, not a published value, above the mild-dementia rate ({_PLACEBO_26WK}); SD: {_RULE_SD}",
        "About +2 or more.",
        uncertain=True,
    ),
    # MMSE (higher = better): negative change is decline.
    ReferenceRow("MMSE", "mci_ad", -1.0, 1.3, _MCSA, "MCSA mean −1.01 (SD 1.36)."),
    ReferenceRow(
        "MMSE",
        "early_ad",
        -1.5,
        1.5,
        f"Estimate set by Saisei, not a published value, between the MCI ({_MCSA}) and mild-dementia ({_CERAD}) rates; "
        f"SD: {_RULE_SD}",
        "Default range −1.5 to −2; no sourced placebo slope.",
        uncertain=True,
    ),
    ReferenceRow(
        "MMSE",
        "mild_ad",
        -2.0,
        2.8,
        _CERAD,
        "Published range −2 to −3.4; individual SD about 2.8 or more.",
    ),
    ReferenceRow(
        "MMSE",
        "moderate_ad",
        -3.0,
        3.0,
        f"Estimate set by Saisei, not a published value, scaled from the mild-dementia rate ({_PLACEBO_26WK}); SD: {_RULE_SD}",
        "Published range −3 to −4.",
        uncertain=True,
    ),
    # ADAS-Cog (higher = worse). ADNI did not state 11 vs 13 items in the excerpt.
    ReferenceRow(
        "ADAS-COG11",
        "mci_ad",
        1.1,
        1.1,
        f"{_ADNI}; SD: {_RULE_SD}",
        "11- vs 13-item version not confirmed.",
        uncertain=True,
    ),
    ReferenceRow(
        "ADAS-COG11",
        "mild_ad",
        4.3,
        4.3,
        f"{_ADNI}; SD: {_RULE_SD}",
        "11- vs 13-item version not confirmed.",
        uncertain=True,
    ),
    ReferenceRow(
        "ADAS-COG11",
        "moderate_ad",
        7.9,
        7.9,
        f"{_PLACEBO_26WK}; 4.3 × 1.84; SD: {_RULE_SD}",
        "Derived by scaling the mild-AD rate.",
        uncertain=True,
    ),
)

DEFAULT_SEM_ROWS: tuple[MeasurementErrorRow, ...] = (
    MeasurementErrorRow(
        "MMSE",
        2.0,
        f"{_CERAD}: change > 3 points ≈ 1 SD of measurement error",
        "Read as SD of the error of a change ≈ 2.8; per assessment 2.8/√2 ≈ 2.0.",
        uncertain=True,
    ),
    MeasurementErrorRow(
        "ADAS-COG11", 3.7, "ADNI mild AD, SEM 3.7: https://www.pubmed.gov/22019547/"
    ),
    MeasurementErrorRow(
        "ADAS-COG13",
        3.7,
        "ADNI mild AD, SEM 3.7: https://www.pubmed.gov/22019547/",
        "Version not stated in source.",
        uncertain=True,
    ),
    MeasurementErrorRow(
        "CDR-SB",
        0.7,
        "Estimate, no published value found: chosen so retest noise is about 1 point, the change used as 'clinical decline' (https://pmc.ncbi.nlm.nih.gov/articles/PMC2581771)",
        uncertain=True,
    ),
)

DEFAULT_MCID_ROWS: tuple[McidRow, ...] = (
    McidRow(
        "MMSE",
        "mci_ad",
        1.0,
        1.0,
        3.0,
        _ANDREWS,
        "Per-stage value interpolated within the 1–3 range.",
        uncertain=True,
    ),
    McidRow(
        "MMSE",
        "early_ad",
        1.5,
        1.0,
        3.0,
        _ANDREWS,
        "Per-stage value interpolated within the 1–3 range.",
        uncertain=True,
    ),
    McidRow(
        "MMSE",
        "mild_ad",
        2.0,
        1.0,
        3.0,
        _ANDREWS,
        "Per-stage value interpolated within the 1–3 range.",
        uncertain=True,
    ),
    McidRow(
        "MMSE",
        "moderate_ad",
        3.0,
        1.0,
        3.0,
        _ANDREWS,
        "Per-stage value interpolated within the 1–3 range.",
        uncertain=True,
    ),
    McidRow(
        "CDR-SB",
        "mci_ad",
        1.0,
        1.0,
        2.0,
        f"{_ANDREWS}; https://pmc.ncbi.nlm.nih.gov/articles/PMC2581771",
        "≥1.0 rise used as clinical decline in MCI.",
    ),
    McidRow(
        "CDR-SB",
        "early_ad",
        1.0,
        1.0,
        2.0,
        _ANDREWS,
        "Per-stage value within the 1–2 range.",
        uncertain=True,
    ),
    McidRow(
        "CDR-SB",
        "mild_ad",
        1.5,
        1.0,
        2.0,
        _ANDREWS,
        "Per-stage value within the 1–2 range.",
        uncertain=True,
    ),
    McidRow(
        "CDR-SB",
        "moderate_ad",
        2.0,
        1.0,
        2.0,
        _ANDREWS,
        "Per-stage value within the 1–2 range.",
        uncertain=True,
    ),
    McidRow(
        "ADAS-COG11",
        None,
        3.0,
        3.0,
        3.8,
        "ADNI mild AD, anchor-based 3.1–3.8, ½ SD 3.2: https://www.pubmed.gov/22019547/",
        "For decline; no MCID for improvement was established.",
    ),
    McidRow(
        "ADAS-COG13",
        None,
        3.0,
        3.0,
        3.8,
        "ADNI mild AD: https://www.pubmed.gov/22019547/",
        "Version not stated; for decline only.",
        uncertain=True,
    ),
)


class ExpectedChange(TypedDict):
    """Answer of POST /api/v1/outcomes/expected-change."""

    measure: str
    stage: str
    baseline: float
    months: float
    expected: float
    lower: float
    upper: float
    level: float
    annual_change: float
    sd: float
    sem: float | None
    mcid: float | None
    mcid_range: tuple[float, float] | None
    source: str
    uncertain: bool
    clamped: bool


def find_reference(
    *, measure: str, stage: str, rows: Sequence[ReferenceRow]
) -> ReferenceRow | None:
    return next((r for r in rows if r.measure == measure and r.stage == stage), None)


def find_sem(*, measure: str, rows: Sequence[MeasurementErrorRow]) -> MeasurementErrorRow | None:
    return next((r for r in rows if r.measure == measure), None)


def find_mcid(*, measure: str, stage: str, rows: Sequence[McidRow]) -> McidRow | None:
    """A stage-specific row wins over a measure-wide one."""
    exact = next((r for r in rows if r.measure == measure and r.stage == stage), None)
    return exact or next((r for r in rows if r.measure == measure and r.stage is None), None)


def reliable_change(*, sem: float, z: float = 1.96) -> float:
    """Smallest change between two single assessments that retest noise alone rarely produces.

    Jacobson–Truax reliable-change threshold: z × √2 × SEM (two independent measurement errors).
    """
    return z * math.sqrt(2.0) * sem


def band_half_width(
    *, sd: float, sem: float, years: float, level: float, baseline_n: int = 1
) -> float:
    """Half-width of the prediction band for one future assessment.

    observed(t) − baseline = slope·t + e_t − ē_0, with slope ~ N(mean, sd²) between patients and
    independent measurement errors of SD ``sem``; so Var = (sd·t)² + sem² · (1 + 1/baseline_n)
    and the band is expected ± z_level · √Var.
    """
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    return z * math.sqrt((sd * years) ** 2 + sem**2 * (1.0 + 1.0 / max(baseline_n, 1)))


def _clamp(x: float, low: float, high: float) -> float:
    return min(max(x, low), high)


def _check_inputs(
    info: MeasureInfo, *, stage: str, months: float, baseline: float, level: float
) -> None:
    """Refuse an unknown stage, months outside 0–240, a baseline outside the instrument's range
    and a band level outside (0, 1)."""
    if stage not in STAGES:
        raise ValidationFailed(
            "outcomes.unknown_stage",
            _("Unknown disease stage."),
            {"stage": [_("Unknown disease stage.")]},
        )
    if not math.isfinite(months) or months < 0 or months > 240:
        raise ValidationFailed(
            "outcomes.invalid_months",
            _("Months must be between 0 and 240."),
            {"months": [_("Months must be between 0 and 240.")]},
        )
    if not math.isfinite(baseline) or info.range.problem(baseline) == "out_of_range":
        raise ValidationFailed(
            "outcomes.invalid_baseline",
            _("The baseline score is outside the instrument's range."),
            {"baseline": [_("The baseline score is outside the instrument's range.")]},
        )
    if not 0 < level < 1:
        raise ValidationFailed(
            "outcomes.invalid_level", _("The band level must be between 0 and 1.")
        )


def expected_change(
    *,
    measure: str,
    stage: str,
    baseline: float,
    months: float,
    reference_rows: Sequence[ReferenceRow] = DEFAULT_REFERENCE_ROWS,
    mcid_rows: Sequence[McidRow] = DEFAULT_MCID_ROWS,
    sem_rows: Sequence[MeasurementErrorRow] = DEFAULT_SEM_ROWS,
    level: float = 0.90,
    baseline_n: int = 1,
) -> ExpectedChange:
    """Expected score after ``months`` without treatment, with a prediction band (see band_half_width).

    The band combines between-patient spread of the annual slope (row ``sd``) with measurement
    error at baseline and follow-up (SEM); a missing SEM row counts as 0, so the band is then too
    narrow and the caller should say so. All values are clamped to the instrument's range.
    """
    info = measure_info(measure)
    _check_inputs(info, stage=stage, months=months, baseline=baseline, level=level)
    row = find_reference(measure=measure, stage=stage, rows=reference_rows)
    if row is None:
        raise ValidationFailed(
            "outcomes.no_reference",
            _("No natural-history reference is set for this measure and stage."),
            {"measure": [_("No natural-history reference is set for this measure and stage.")]},
        )
    sem_row = find_sem(measure=measure, rows=sem_rows)
    sem = sem_row.sem if sem_row else 0.0
    mcid_row = find_mcid(measure=measure, stage=stage, rows=mcid_rows)
    years = months / 12.0
    centre = baseline + row.annual_change * years
    half = band_half_width(sd=row.sd, sem=sem, years=years, level=level, baseline_n=baseline_n)
    low, high = info.range.low, info.range.high
    raw = (centre, centre - half, centre + half)
    expected, lower, upper = (_clamp(v, low, high) for v in raw)
    sources = [row.source]
    if sem_row:
        sources.append(f"SEM: {sem_row.source}")
    if mcid_row:
        sources.append(f"MCID: {mcid_row.source}")
    return ExpectedChange(
        measure=measure,
        stage=stage,
        baseline=baseline,
        months=months,
        expected=expected,
        lower=lower,
        upper=upper,
        level=level,
        annual_change=row.annual_change,
        sd=row.sd,
        sem=sem_row.sem if sem_row else None,
        mcid=mcid_row.value if mcid_row else None,
        mcid_range=(mcid_row.low, mcid_row.high) if mcid_row else None,
        source=" | ".join(sources),
        uncertain=row.uncertain
        or bool(sem_row and sem_row.uncertain)
        or bool(mcid_row and mcid_row.uncertain),
        clamped=any(abs(a - b) > 1e-12 for a, b in zip(raw, (expected, lower, upper), strict=True)),
    )
