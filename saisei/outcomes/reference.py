"""Natural-history references: expected annual change without treatment, its spread, and MCIDs.

The defaults come from facts/outcomes.md §3.3–3.4 and are data the clinic can edit (the Django
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
from saisei.outcomes.instruments import measure_info

FACTS = "facts/outcomes.md"

STAGES: dict[str, Any] = {
    "mci_ad": _("Mild cognitive impairment due to Alzheimer's disease"),
    "early_ad": _("Early Alzheimer's disease (MCI or mild dementia)"),
    "mild_ad": _("Mild Alzheimer's dementia"),
    "moderate_ad": _("Moderate Alzheimer's dementia"),
}


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


_MCSA = "Mayo Clinic Study of Aging, AAN 2025 abstract (facts §3.2): https://index.mirasmart.com/AAN2025/PDFfiles/AAN2025-004640.html"
_CLARITY = "CLARITY-AD placebo, CDR-SB +1.66 over 18 months (facts §3.1): https://www.pathway.md/studies/clarity-ad-recTq7cu4CChfHOXR"
_ADNI = "ADNI-1 12-month change (facts §3.2): https://pmc.ncbi.nlm.nih.gov/articles/PMC2809036"
_CERAD = "CERAD probable AD, MMSE −3.4/yr (facts §3.2): https://alzheimers.boomja.com/mobile/ITEM-Variability-in-annual-Mini-Mental-State-Examination-score-in-patients-with-probable-Alzheimer-disease-113137.html"
_PLACEBO_26WK = "Placebo arms, moderate AD decline 84% larger than mild (facts §3.2): https://pubmed.ncbi.nlm.nih.gov/11723368"
_RULE_SD = "facts §3.3 rule of thumb: individual SD of annual change ≈ mean change [ASSUMPTION; replace with ADNI/NACC fits]"
_ANDREWS = "NACC anchor-based MCID, larger at more severe stages (facts §3.4): https://www.ncbi.nlm.nih.gov/pubmed/31417957"

DEFAULT_REFERENCE_ROWS: tuple[ReferenceRow, ...] = (
    # CDR-SB (higher = worse): positive change is decline.
    ReferenceRow(
        "CDR-SB",
        "mci_ad",
        0.5,
        0.8,
        _MCSA,
        "Sheet range +0.5 to +1.0; MCSA is probably an underestimate for established MCI.",
    ),
    ReferenceRow(
        "CDR-SB",
        "early_ad",
        1.1,
        1.1,
        f"{_CLARITY}; SD: {_RULE_SD}",
        "Sheet range +1.1 to +1.6 (CLARITY-AD, TRAILBLAZER-ALZ 2).",
    ),
    ReferenceRow(
        "CDR-SB",
        "mild_ad",
        1.5,
        1.5,
        f"facts §3.3; SD: {_RULE_SD}",
        "Sheet range +1.5 to +2.",
        uncertain=True,
    ),
    ReferenceRow(
        "CDR-SB",
        "moderate_ad",
        2.0,
        2.0,
        f"facts §3.3; SD: {_RULE_SD}",
        "Sheet says about +2 or more.",
        uncertain=True,
    ),
    # MMSE (higher = better): negative change is decline.
    ReferenceRow("MMSE", "mci_ad", -1.0, 1.3, _MCSA, "MCSA mean −1.01 (SD 1.36)."),
    ReferenceRow(
        "MMSE",
        "early_ad",
        -1.5,
        1.5,
        f"facts §3.3; SD: {_RULE_SD}",
        "Sheet range −1.5 to −2; no sourced placebo slope.",
        uncertain=True,
    ),
    ReferenceRow(
        "MMSE",
        "mild_ad",
        -2.0,
        2.8,
        f"{_CERAD}; facts §3.3",
        "Sheet range −2 to −3.4; individual SD about 2.8 or more.",
    ),
    ReferenceRow(
        "MMSE",
        "moderate_ad",
        -3.0,
        3.0,
        f"facts §3.3 (weak secondary source); SD: {_RULE_SD}",
        "Sheet range −3 to −4.",
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
        "ADAS-COG11", 3.7, "ADNI mild AD, SEM 3.7 (facts §3.4): https://www.pubmed.gov/22019547/"
    ),
    MeasurementErrorRow(
        "ADAS-COG13",
        3.7,
        "ADNI mild AD, SEM 3.7 (facts §3.4): https://www.pubmed.gov/22019547/",
        "Version not stated in source.",
        uncertain=True,
    ),
    MeasurementErrorRow(
        "CDR-SB",
        0.7,
        "[ASSUMPTION] no SEM in facts sheet; chosen so retest noise ≈ 1 point, the change used as 'clinical decline' (facts §3.4)",
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
        "ADNI mild AD, anchor-based 3.1–3.8, ½ SD 3.2 (facts §3.4): https://www.pubmed.gov/22019547/",
        "For decline; no MCID for improvement was established.",
    ),
    McidRow(
        "ADAS-COG13",
        None,
        3.0,
        3.0,
        3.8,
        "ADNI mild AD (facts §3.4): https://www.pubmed.gov/22019547/",
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
