"""QC release specifications for autologous adipose-MSC lots, as data with their sources.

A specification is a row of data (code, limit, unit, whether release needs it, where it comes
from), so QA can review the table and a provision plan can tighten it without code changes.
Evaluation decides pass/fail; an out-of-specification result quarantines the lot and opens a
deviation (DESIGN invariant 4) — this module says so, the lot service acts on it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Literal

from django.utils.translation import gettext_lazy as _

from saisei.core.errors import ValidationFailed


class Kind(StrEnum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"


class Comparator(StrEnum):
    """How a result is compared with the limit; boundaries are inclusive for ≥, ≤ and between."""

    GE = ">="
    LE = "<="
    GT = ">"
    LT = "<"
    BETWEEN = "between"
    ONE_OF = "one_of"


class Stage(StrEnum):
    """When the test is done: before release at the CPC, or after thaw at the clinic."""

    RELEASE = "release"
    POST_THAW = "post_thaw"


class Route(StrEnum):
    IV = "iv"
    INTRATHECAL = "intrathecal"


ROUTE_ALIASES: dict[str, Route] = {
    "iv": Route.IV,
    "intravenous": Route.IV,
    "it": Route.INTRATHECAL,
    "intrathecal": Route.INTRATHECAL,
}

_SYMBOLS = {Comparator.GE: "≥", Comparator.LE: "≤", Comparator.GT: ">", Comparator.LT: "<"}


@dataclass(frozen=True)
class Specification:
    """One release test: its limit, whether release needs it, and the source of the limit.

    ``pre_release_allowed`` marks a slow test (the 14-day sterility culture) that may still be
    running at a conditional release, provided its ``rapid_check`` (the Gram stain) has passed.
    """

    code: str
    name: Any
    kind: Kind
    comparator: Comparator
    source: str
    limit: float | None = None
    upper_limit: float | None = None
    accepted: frozenset[str] = frozenset()
    rejected: frozenset[str] = frozenset()
    unit: str = ""
    required_for_release: bool = True
    pre_release_allowed: bool = False
    rapid_check: str | None = None
    stage: Stage = Stage.RELEASE
    group: str = ""

    def limit_text(self) -> str:
        """The limit as QA reads it on a certificate, e.g. '≥ 70 %' or 'no growth'."""
        if self.kind is Kind.CATEGORICAL:
            return " / ".join(value_label(v) for v in sorted(self.accepted))
        unit = f" {self.unit}" if self.unit else ""
        if self.comparator is Comparator.BETWEEN:
            return f"{_number(self.limit)}–{_number(self.upper_limit)}{unit}"
        return f"{_SYMBOLS[self.comparator]} {_number(self.limit)}{unit}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": str(self.name),
            "kind": self.kind.value,
            "comparator": self.comparator.value,
            "limit": self.limit,
            "upper_limit": self.upper_limit,
            "accepted": sorted(self.accepted),
            "unit": self.unit,
            "limit_text": self.limit_text(),
            "required_for_release": self.required_for_release,
            "pre_release_allowed": self.pre_release_allowed,
            "rapid_check": self.rapid_check,
            "stage": self.stage.value,
            "group": self.group,
            "source": self.source,
        }


_VALUE_LABELS: dict[str, Any] = {
    "no_growth": _("no growth"),
    "growth": _("growth"),
    "no_organisms_seen": _("no organisms seen"),
    "organisms_seen": _("organisms seen"),
    "negative": _("negative"),
    "positive": _("positive"),
    "inconclusive": _("inconclusive"),
    "pending": _("pending"),
}


def value_label(value: str) -> str:
    """A qualitative QC result in the reader's language (no_growth -> "no growth")."""
    return str(_VALUE_LABELS.get(value, value))


def _number(value: float | None) -> str:
    """Exact, readable numbers: 70, 3.5, 1.8 × 10^8 (no float noise, no silent rounding)."""
    if value is None:
        return ""
    exact = Decimal(str(value))
    if value and abs(value) >= 1e6:
        exponent = math.floor(math.log10(abs(value)))
        mantissa = (exact / (Decimal(10) ** exponent)).normalize()
        return f"{mantissa:f} × 10{str(exponent).translate(_SUPERSCRIPT)}"
    return f"{exact.normalize():f}"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


# --- Static parts of the default table ---------------------------------------------------------

SRC_STERILITY = (
    "Compendial sterility test, 14-day incubation: USP <71>; 21 CFR 610.12; "
    "Japanese Pharmacopoeia 4.06; Ph. Eur. 2.6.1"
)
SRC_GRAM = (
    "Gram stain as a rapid pre-release sterility check, as in CONCERT-HF: Bolli et al., "
    "Circ Res 2018 (https://pmc.ncbi.nlm.nih.gov/articles/PMC5993622/)"
)
SRC_MYCOPLASMA = (
    "Mycoplasma negative by a validated nucleic-acid test (Ph. Eur. 2.6.7) or by culture "
    "(21 CFR 610.30)"
)
SRC_VIABILITY = (
    "Viability ≥ 70 %, release and post-thaw criterion of CONCERT-HF: Bolli et al., "
    "Circ Res 2018 (https://pmc.ncbi.nlm.nih.gov/articles/PMC5993622/)"
)
SRC_ISCT = (
    "ISCT minimal criteria: Dominici et al., Cytotherapy 2006;8:315–317 "
    "(https://doi.org/10.1080/14653240600855905)"
)
SRC_ISCT_CD34 = (
    SRC_ISCT + "; early-passage adipose MSC can be CD34-positive (Bourin et al., Cytotherapy "
    "2013;15:641–648, IFATS/ISCT statement; thresholds not confirmed), so a provision plan may "
    "relax this marker"
)
SRC_ENDOTOXIN = (
    "USP <85> Bacterial Endotoxins Test: limit = K/M, K = 5 EU/kg (0.2 EU/kg intrathecal), "
    "M = dose per kg given within one hour"
)
SRC_COUNT = (
    "Minimum and maximum cells per dose as in CONCERT-HF (Bolli et al., Circ Res 2018); "
    "the dose per infusion comes from the treatment course"
)

STERILITY = "sterility"
GRAM_STAIN = "gram_stain"
MYCOPLASMA = "mycoplasma"
VIABILITY = "viability"
VIABILITY_POST_THAW = "viability_post_thaw"
ENDOTOXIN = "endotoxin"
TOTAL_CELLS = "total_viable_cells"
DOSE_CELLS = "dose_viable_cells"

# ISCT panel: (code, marker label, positive?)
IDENTITY_MARKERS: tuple[tuple[str, str, bool], ...] = (
    ("identity_cd73", "CD73", True),
    ("identity_cd90", "CD90", True),
    ("identity_cd105", "CD105", True),
    ("identity_cd45", "CD45", False),
    ("identity_cd34", "CD34", False),
    ("identity_cd14_cd11b", "CD14 or CD11b", False),
    ("identity_cd79a_cd19", "CD79a or CD19", False),
    ("identity_hla_dr", "HLA-DR", False),
)


def _microbial_specs() -> list[Specification]:
    return [
        Specification(
            code=STERILITY,
            name=_("Sterility (14-day culture)"),
            kind=Kind.CATEGORICAL,
            comparator=Comparator.ONE_OF,
            accepted=frozenset({"no_growth"}),
            rejected=frozenset({"growth", "inconclusive"}),
            pre_release_allowed=True,
            rapid_check=GRAM_STAIN,
            group="safety",
            source=SRC_STERILITY,
        ),
        Specification(
            code=GRAM_STAIN,
            name=_("Gram stain (rapid sterility check)"),
            kind=Kind.CATEGORICAL,
            comparator=Comparator.ONE_OF,
            accepted=frozenset({"no_organisms_seen"}),
            rejected=frozenset({"organisms_seen", "inconclusive"}),
            group="safety",
            source=SRC_GRAM,
        ),
        Specification(
            code=MYCOPLASMA,
            name=_("Mycoplasma"),
            kind=Kind.CATEGORICAL,
            comparator=Comparator.ONE_OF,
            accepted=frozenset({"negative"}),
            rejected=frozenset({"positive", "inconclusive"}),
            group="safety",
            source=SRC_MYCOPLASMA,
        ),
    ]


def _viability_specs(*, viability_min: float) -> list[Specification]:
    return [
        Specification(
            code=VIABILITY,
            name=_("Viability"),
            kind=Kind.NUMERIC,
            comparator=Comparator.GE,
            limit=viability_min,
            unit="%",
            group="quality",
            source=SRC_VIABILITY,
        ),
        Specification(
            code=VIABILITY_POST_THAW,
            name=_("Viability after thaw"),
            kind=Kind.NUMERIC,
            comparator=Comparator.GE,
            limit=viability_min,
            unit="%",
            required_for_release=False,
            stage=Stage.POST_THAW,
            group="quality",
            source=SRC_VIABILITY + "; re-tested at the clinic after thaw",
        ),
    ]


def _identity_specs(*, positive_min: float, negative_max: float) -> list[Specification]:
    specs = []
    for code, marker, positive in IDENTITY_MARKERS:
        specs.append(
            Specification(
                code=code,
                name=(
                    _("Identity: %(marker)s positive")
                    if positive
                    else _("Identity: %(marker)s negative")
                )
                % {"marker": marker},
                kind=Kind.NUMERIC,
                comparator=Comparator.GE if positive else Comparator.LE,
                limit=positive_min if positive else negative_max,
                unit="%",
                group="identity",
                source=SRC_ISCT_CD34 if code == "identity_cd34" else SRC_ISCT,
            )
        )
    return specs


# --- Endotoxin: K/M ----------------------------------------------------------------------------

ENDOTOXIN_K_EU_PER_KG: dict[Route, float] = {Route.IV: 5.0, Route.INTRATHECAL: 0.2}


@dataclass(frozen=True)
class EndotoxinLimit:
    """The endotoxin limit for one patient and route.

    ``limit_eu`` is the most endotoxin (EU) the patient may receive: per hour of infusion for IV
    (K is per kg per hour), per dose for intrathecal. ``eu_per_ml`` is K/M expressed per mL of
    product, known only when the dose volume is given.
    """

    route: Route
    k_eu_per_kg: float
    weight_kg: float
    basis: Literal["per_hour", "per_dose"]
    limit_eu: float
    volume_ml: float | None
    eu_per_ml: float | None
    explanation: Any
    source: str = SRC_ENDOTOXIN

    def as_dict(self) -> dict[str, Any]:
        return {
            "route": self.route.value,
            "k_eu_per_kg": self.k_eu_per_kg,
            "weight_kg": self.weight_kg,
            "basis": self.basis,
            "limit_eu": self.limit_eu,
            "volume_ml": self.volume_ml,
            "eu_per_ml": self.eu_per_ml,
            "explanation": str(self.explanation),
            "source": self.source,
        }


def parse_route(route: str | Route) -> Route:
    """Accept the route codes in use; an unknown route is refused because it decides K."""
    key = str(route).strip().lower()
    if key not in ROUTE_ALIASES:
        raise ValidationFailed(
            "qc.unknown_route",
            _("The route %(route)s is not known; the endotoxin limit depends on it.")
            % {"route": route},
            fields={"route": _("Choose intravenous (iv) or intrathecal (it).")},
        )
    return ROUTE_ALIASES[key]


def endotoxin_limit(
    *,
    route: str | Route,
    weight_kg: float,
    dose_volume_ml: float | None = None,
    infusion_minutes: float | None = None,
    k_eu_per_kg: Mapping[Route, float] | None = None,
) -> EndotoxinLimit:
    """Endotoxin limit K/M for this patient, so that the LAL result can be judged per lot.

    IV: K is per kg per hour, so the limit counts the volume infused within one hour; without an
    infusion time we assume the whole dose runs within an hour (the stricter case). Intrathecal:
    the limit applies to the whole dose, however long it takes.
    """
    parsed = parse_route(route)
    errors: dict[str, Any] = {}
    if not _positive(weight_kg) or weight_kg > 300:
        errors["weight_kg"] = _("Enter the patient's weight in kg (more than 0, at most 300).")
    if dose_volume_ml is not None and (not _positive(dose_volume_ml) or dose_volume_ml > 5000):
        errors["dose_volume_ml"] = _("Enter the dose volume in mL (more than 0, at most 5,000).")
    if infusion_minutes is not None and (
        not _positive(infusion_minutes) or infusion_minutes > 24 * 60
    ):
        errors["infusion_minutes"] = _(
            "Enter the infusion time in minutes (more than 0, at most 24 h)."
        )
    if errors:
        raise ValidationFailed(
            "qc.invalid_endotoxin_input",
            _("The endotoxin limit cannot be computed."),
            fields=errors,
        )
    k = (k_eu_per_kg or ENDOTOXIN_K_EU_PER_KG)[parsed]
    # Decimal arithmetic so 0.2 EU/kg × 70 kg is exactly 14 EU at the boundary.
    limit_dec = Decimal(str(k)) * Decimal(str(weight_kg))
    limit_eu = float(limit_dec)
    per_hour = parsed is Route.IV
    volume: float | None = None
    if dose_volume_ml is not None:
        volume = dose_volume_ml
        if per_hour and infusion_minutes is not None and infusion_minutes > 60:
            volume = dose_volume_ml * 60 / infusion_minutes
    eu_per_ml = None if volume is None else float(limit_dec / Decimal(str(volume)))
    values = {
        "k": _number(k),
        "weight": _number(weight_kg),
        "limit": _number(round(limit_eu, 4)),
    }
    if per_hour:
        explanation = (
            _(
                "Intravenous: K = %(k)s EU/kg per hour × %(weight)s kg = at most %(limit)s EU within any "
                "hour of infusion."
            )
            % values
        )
    else:
        explanation = (
            _(
                "Intrathecal: K = %(k)s EU/kg × %(weight)s kg = at most %(limit)s EU in the whole dose."
            )
            % values
        )
    if eu_per_ml is not None and volume is not None:
        explanation = _("%(base)s Over %(volume)s mL that is %(per_ml)s EU/mL.") % {
            "base": explanation,
            "volume": _number(round(volume, 3)),
            "per_ml": _number(round(eu_per_ml, 4)),
        }
    return EndotoxinLimit(
        route=parsed,
        k_eu_per_kg=k,
        weight_kg=float(weight_kg),
        basis="per_hour" if per_hour else "per_dose",
        limit_eu=limit_eu,
        volume_ml=volume,
        eu_per_ml=eu_per_ml,
        explanation=explanation,
    )


def endotoxin_specification(limit: EndotoxinLimit) -> Specification:
    """The endotoxin row: in EU/mL when the volume is known, otherwise total EU per hour/dose."""
    if limit.eu_per_ml is not None:
        return Specification(
            code=ENDOTOXIN,
            name=_("Endotoxin"),
            kind=Kind.NUMERIC,
            comparator=Comparator.LE,
            limit=round(limit.eu_per_ml, 6),
            unit="EU/mL",
            group="safety",
            source=SRC_ENDOTOXIN,
        )
    return Specification(
        code=ENDOTOXIN,
        name=_("Endotoxin (total in the dose)")
        if limit.basis == "per_dose"
        else _("Endotoxin (total infused per hour)"),
        kind=Kind.NUMERIC,
        comparator=Comparator.LE,
        limit=round(limit.limit_eu, 6),
        unit="EU",
        group="safety",
        source=SRC_ENDOTOXIN,
    )


def cell_count_specifications(
    *,
    cells_per_dose: float,
    doses: int,
    per_dose_min_fraction: float = 0.9,
    per_dose_max_fraction: float = 1.1,
) -> list[Specification]:
    """Total viable cells for the course and a per-dose window around the prescribed dose.

    The ±10 % window is a planning default [U]; the provision plan's dose range should replace it.
    """
    errors: dict[str, Any] = {}
    if not _positive(cells_per_dose):
        errors["cells_per_dose"] = _("Enter the cells per dose (more than 0).")
    if isinstance(doses, bool) or not isinstance(doses, int) or doses < 1:
        errors["doses"] = _("Enter the number of doses (1 or more).")
    if not (0 < per_dose_min_fraction <= 1 <= per_dose_max_fraction):
        errors["per_dose_min_fraction"] = _("The dose window must include the prescribed dose.")
    if errors:
        raise ValidationFailed(
            "qc.invalid_count_input",
            _("The cell-count specification cannot be set."),
            fields=errors,
        )
    return [
        Specification(
            code=TOTAL_CELLS,
            name=_("Total viable cells for the course"),
            kind=Kind.NUMERIC,
            comparator=Comparator.GE,
            limit=float(Decimal(str(cells_per_dose)) * doses),
            unit="cells",
            group="count",
            source=SRC_COUNT,
        ),
        Specification(
            code=DOSE_CELLS,
            name=_("Viable cells per dose"),
            kind=Kind.NUMERIC,
            comparator=Comparator.BETWEEN,
            limit=_times(cells_per_dose, per_dose_min_fraction),
            upper_limit=_times(cells_per_dose, per_dose_max_fraction),
            unit="cells",
            group="count",
            source=SRC_COUNT,
        ),
    ]


def _times(value: float, factor: float) -> float:
    return float(round(Decimal(str(value)) * Decimal(str(factor))))


@dataclass(frozen=True)
class SpecificationSet:
    """The specifications for one product, route and patient, in display order."""

    product: str
    route: Route
    specifications: tuple[Specification, ...]
    endotoxin: EndotoxinLimit

    def __iter__(self) -> Iterator[Specification]:
        return iter(self.specifications)

    def __len__(self) -> int:
        return len(self.specifications)

    def get(self, code: str) -> Specification:
        for spec in self.specifications:
            if spec.code == code:
                return spec
        raise KeyError(code)

    def replace_spec(self, code: str, **changes: Any) -> SpecificationSet:
        """A copy with one row changed, e.g. a plan's stricter viability limit."""
        self.get(code)
        specs = tuple(replace(s, **changes) if s.code == code else s for s in self.specifications)
        return replace(self, specifications=specs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "route": self.route.value,
            "endotoxin": self.endotoxin.as_dict(),
            "specifications": [s.as_dict() for s in self.specifications],
        }


def default_specifications(
    *,
    route: str | Route,
    weight_kg: float,
    cells_per_dose: float,
    doses: int,
    dose_volume_ml: float | None = None,
    infusion_minutes: float | None = None,
    product: str = "MSC(AT)",
    viability_min: float = 70.0,
    identity_positive_min: float = 95.0,
    identity_negative_max: float = 2.0,
) -> SpecificationSet:
    """The default release table for a cultured adipose-MSC product (ISBT 128 class MSC(AT))."""
    endotoxin = endotoxin_limit(
        route=route,
        weight_kg=weight_kg,
        dose_volume_ml=dose_volume_ml,
        infusion_minutes=infusion_minutes,
    )
    specs = [
        *_microbial_specs(),
        endotoxin_specification(endotoxin),
        *_viability_specs(viability_min=viability_min),
        *_identity_specs(positive_min=identity_positive_min, negative_max=identity_negative_max),
        *cell_count_specifications(cells_per_dose=cells_per_dose, doses=doses),
    ]
    return SpecificationSet(
        product=product, route=endotoxin.route, specifications=tuple(specs), endotoxin=endotoxin
    )


# --- Evaluation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """The verdict on one result; a failed verdict is out of specification."""

    code: str
    passed: bool
    value: Any
    limit_text: str
    message: Any

    @property
    def out_of_specification(self) -> bool:
        return not self.passed

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "passed": self.passed,
            "value": self.value,
            "limit_text": self.limit_text,
            "message": str(self.message),
        }


def _positive(value: Any) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float | Decimal)
        and math.isfinite(value)
        and value > 0
    )


def normalise_category(value: str) -> str:
    """'No growth', 'no-growth' and ' NO_GROWTH ' are the same answer."""
    return "_".join(value.strip().lower().replace("-", " ").split())


def _as_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise InvalidOperation
    if isinstance(value, str):
        value = value.strip().replace(",", "")
    number = Decimal(str(value))
    if not number.is_finite():
        raise InvalidOperation
    return number


def evaluate(*, spec: Specification, value: Any) -> Evaluation:
    """Judge one result against its specification; boundaries count as passing (≥ and ≤)."""
    name = spec.name
    limit_text = spec.limit_text()
    if spec.kind is Kind.CATEGORICAL:
        if not isinstance(value, str) or not value.strip():
            raise _invalid(spec, _("Choose one of: %(values)s."))
        answer = normalise_category(value)
        if answer not in spec.accepted | spec.rejected:
            raise _invalid(spec, _("Choose one of: %(values)s."))
        passed = answer in spec.accepted
        shown = value_label(answer)
        stored: Any = answer
    else:
        try:
            number = _as_decimal(value)
        except (InvalidOperation, ValueError, TypeError):
            raise _invalid(spec, _("Enter a number.")) from None
        if spec.unit == "%" and not (0 <= number <= 100):
            raise _invalid(spec, _("A percentage must be between 0 and 100."))
        if number < 0:
            raise _invalid(spec, _("The result cannot be negative."))
        passed = _compare(spec, number)
        shown = f"{_number(float(number))} {spec.unit}".strip()
        stored = float(number)
    if passed:
        message = _("%(name)s: %(value)s meets the specification (%(limit)s).")
    else:
        message = _(
            "%(name)s: %(value)s is out of specification (%(limit)s). The lot is quarantined and a "
            "deviation must be opened."
        )
    return Evaluation(
        code=spec.code,
        passed=passed,
        value=stored,
        limit_text=limit_text,
        message=message % {"name": name, "value": shown, "limit": limit_text},
    )


def _compare(spec: Specification, number: Decimal) -> bool:
    low = Decimal(str(spec.limit)) if spec.limit is not None else None
    high = Decimal(str(spec.upper_limit)) if spec.upper_limit is not None else None
    match spec.comparator:
        case Comparator.GE:
            return low is not None and number >= low
        case Comparator.LE:
            return low is not None and number <= low
        case Comparator.GT:
            return low is not None and number > low
        case Comparator.LT:
            return low is not None and number < low
        case Comparator.BETWEEN:
            return low is not None and high is not None and low <= number <= high
    raise ValueError(spec.comparator)  # pragma: no cover - categorical handled by the caller


def _invalid(spec: Specification, hint: Any) -> ValidationFailed:
    values = ", ".join(value_label(v) for v in sorted(spec.accepted | spec.rejected))
    return ValidationFailed(
        "qc.invalid_result",
        _("The result for %(name)s cannot be read.") % {"name": spec.name},
        fields={spec.code: hint % {"values": values} if spec.kind is Kind.CATEGORICAL else hint},
    )


# --- Release readiness -------------------------------------------------------------------------


class _Pending:
    """Marker for a test that has been started but has no result yet (e.g. a culture incubating)."""

    def __repr__(self) -> str:
        return "PENDING"


PENDING: Any = _Pending()

ReleaseStatus = Literal["full", "conditional", "blocked"]


@dataclass(frozen=True)
class Readiness:
    """What stands between a lot and its release, and what QA must do about it."""

    status: ReleaseStatus
    missing: tuple[str, ...]
    pending: tuple[str, ...]
    failed: tuple[Evaluation, ...]
    passed: tuple[Evaluation, ...]
    reasons: tuple[Any, ...] = field(default_factory=tuple)

    @property
    def full_release_possible(self) -> bool:
        return self.status == "full"

    @property
    def conditional_release_possible(self) -> bool:
        return self.status == "conditional"

    @property
    def out_of_specification(self) -> bool:
        return bool(self.failed)

    @property
    def actions(self) -> tuple[str, ...]:
        """Steps the lot service must take: any OOS result quarantines the lot and opens a deviation."""
        return ("quarantine_lot", "open_deviation") if self.failed else ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "full_release_possible": self.full_release_possible,
            "conditional_release_possible": self.conditional_release_possible,
            "missing": list(self.missing),
            "pending": list(self.pending),
            "failed": [e.as_dict() for e in self.failed],
            "passed": [e.as_dict() for e in self.passed],
            "out_of_specification": self.out_of_specification,
            "actions": list(self.actions),
            "reasons": [str(r) for r in self.reasons],
        }


def release_readiness(
    *,
    specs: Iterable[Specification],
    results: Mapping[str, Any],
    allow_conditional: bool = False,
) -> Readiness:
    """Decide whether a lot can be released in full, conditionally, or not at all.

    ``results`` maps test code to its value, or to PENDING while the test runs; an absent code or
    None is missing. Conditional release (fresh product) is possible only when the tests still
    outstanding are all allowed to run past release (the sterility culture), each has been
    started, and each one's rapid check has passed. Tests not required for release are ignored.
    """
    required = [s for s in specs if s.required_for_release and s.stage is Stage.RELEASE]
    missing: list[str] = []
    pending: list[str] = []
    failed: list[Evaluation] = []
    passed: list[Evaluation] = []
    errors: dict[str, Any] = {}
    for spec in required:
        value = results.get(spec.code)
        if value is None:
            missing.append(spec.code)
        elif value is PENDING:
            pending.append(spec.code)
        else:
            try:
                verdict = evaluate(spec=spec, value=value)
            except ValidationFailed as exc:
                errors.update(exc.fields)
                continue
            (passed if verdict.passed else failed).append(verdict)
    if errors:
        raise ValidationFailed(
            "qc.invalid_result",
            _("Some results cannot be read; correct them first."),
            fields=errors,
        )

    by_code = {s.code: s for s in required}
    passed_codes = {e.code for e in passed}
    reasons: list[Any] = []
    for verdict in failed:
        reasons.append(verdict.message)
    for code in missing:
        reasons.append(_("%(name)s has no result yet.") % {"name": by_code[code].name})
    for code in pending:
        reasons.append(_("%(name)s is still running.") % {"name": by_code[code].name})

    status: ReleaseStatus
    if failed or missing:
        status = "blocked"
    elif not pending:
        status = "full"
    elif _conditional_ok(pending, by_code, passed_codes):
        if allow_conditional:
            status = "conditional"
            reasons.append(
                _(
                    "Conditional release is possible: only the sterility culture is still running and "
                    "its rapid check passed. A positive culture after release must be notified at once."
                )
            )
        else:
            status = "blocked"
            reasons.append(
                _(
                    "Conditional release is not allowed for this product; wait for the final results."
                )
            )
    else:
        status = "blocked"
    return Readiness(
        status=status,
        missing=tuple(missing),
        pending=tuple(pending),
        failed=tuple(failed),
        passed=tuple(passed),
        reasons=tuple(reasons),
    )


def _conditional_ok(
    pending: list[str], by_code: Mapping[str, Specification], passed_codes: set[str]
) -> bool:
    for code in pending:
        spec = by_code[code]
        if not spec.pre_release_allowed or spec.rapid_check is None:
            return False
        if spec.rapid_check not in passed_codes:
            return False
    return True
