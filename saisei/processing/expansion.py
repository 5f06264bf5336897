"""Expansion forecast: when will an autologous adipose-MSC culture reach the cells a course needs?

The model is deliberately simple so a CPC technician can check it by hand: adherent progenitors
from the tissue grow exponentially after a lag, are passaged at confluence and all reseeded at the
seeding density. Every number is a parameter with its source (manufacturing facts §4.1); the
fast/typical/slow values give the earliest/likely/latest day. Actual counts re-anchor the forecast.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, timedelta
from typing import Any, Literal

from django.utils.translation import gettext_lazy as _

from saisei.core import numbers
from saisei.core.errors import ValidationFailed

Scenario = Literal["fast", "typical", "slow"]
SCENARIOS: tuple[Scenario, ...] = ("fast", "typical", "slow")
Severity = Literal["error", "warning", "info"]

# Culture vessel growth areas in cm². T-175 and HYPERFlask are verified; CellSTACK values are
# vendor data-sheet figures the facts sheet marks uncertain (§4.1), so callers may override them.
VESSELS: dict[str, float] = {
    "T-75": 75.0,
    "T-175": 175.0,
    "T-225": 225.0,
    "HYPERFlask": 1720.0,
    "CellSTACK-1": 636.0,
    "CellSTACK-2": 1272.0,
    "CellSTACK-5": 3180.0,
    "CellSTACK-10": 6360.0,
    "CellSTACK-40": 25440.0,
}

# Safety stop for the passage loop; far above any real passage limit.
_MAX_SIMULATED_PASSAGES = 60


@dataclass(frozen=True)
class Spread:
    """A value under fast, typical and slow growth; which end is 'fast' depends on the parameter."""

    fast: float
    typical: float
    slow: float

    def get(self, scenario: Scenario) -> float:
        return float(getattr(self, scenario))

    def as_dict(self) -> dict[str, float]:
        return {"fast": self.fast, "typical": self.typical, "slow": self.slow}


@dataclass(frozen=True)
class ParameterInfo:
    """What a parameter means, its unit, hard limits, the plausible band and where the default comes from."""

    label: Any
    unit: str
    source: str
    minimum: float
    maximum: float
    plausible: tuple[float, float]
    minimum_inclusive: bool = False
    higher_is_faster: bool | None = None  # only for spreads


PARAMETERS: dict[str, ParameterInfo] = {
    "nucleated_cells_per_g": ParameterInfo(
        label=_("Nucleated (SVF) cells per gram of lipoaspirate"),
        unit="cells/g",
        source="0.5–2.0 × 10⁶ nucleated cells/g of lipoaspirate (secondary summary: https://www.healeonmedical.com/bmac-vs-svf)",
        minimum=0.0,
        maximum=1e9,
        plausible=(1e5, 1e7),
        higher_is_faster=True,
    ),
    "adherent_fraction": ParameterInfo(
        label=_("Share of nucleated cells that are adherent progenitors"),
        unit="fraction",
        source="Stem/progenitor share 1–10 % of SVF cells (secondary summary: https://www.healeonmedical.com/bmac-vs-svf)",
        minimum=0.0,
        maximum=1.0,
        plausible=(0.001, 0.5),
        higher_is_faster=True,
    ),
    "doubling_time_days": ParameterInfo(
        label=_("Population doubling time"),
        unit="days",
        source=(
            "Planning range 2–5 days; one series averaged 5.1 days "
            "(http://scidoc.org/IJST-2328-3548-S2-001.php), another about 400 h "
            "(https://www.hindawi.com/journals/sci/2013/246134/tab2/); donors differ widely, so "
            "re-forecast from the lot's own counts"
        ),
        minimum=0.0,
        maximum=365.0,
        plausible=(1.0, 20.0),
        higher_is_faster=False,
    ),
    "initial_lag_days": ParameterInfo(
        label=_("Lag before primary (P0) culture starts growing"),
        unit="days",
        source="Value set by the CPC from its own records; no published source fixes it",
        minimum=0.0,
        maximum=60.0,
        plausible=(0.0, 14.0),
        minimum_inclusive=True,
    ),
    "passage_lag_days": ParameterInfo(
        label=_("Lag after each passage before growth resumes"),
        unit="days",
        source="Value set by the CPC from its own records; no published source fixes it",
        minimum=0.0,
        maximum=30.0,
        plausible=(0.0, 5.0),
        minimum_inclusive=True,
    ),
    "seeding_density_per_cm2": ParameterInfo(
        label=_("Seeding density"),
        unit="cells/cm²",
        source="Lower seeding densities expand better (https://pmc.ncbi.nlm.nih.gov/articles/PMC3289841); 1,000–5,000 cells/cm² is a planning value the CPC sets",
        minimum=0.0,
        maximum=1e6,
        plausible=(500.0, 10000.0),
    ),
    "confluent_density_per_cm2": ParameterInfo(
        label=_("Density at confluence (harvest)"),
        unit="cells/cm²",
        source="Confluent MSC about 2–4 × 10⁴ cells/cm²: a planning value the CPC confirms from its own counts",
        minimum=0.0,
        maximum=1e7,
        plausible=(1e4, 1e5),
    ),
    "vessel_area_cm2": ParameterInfo(
        label=_("Growth area of one culture vessel"),
        unit="cm²",
        source="T-175 = 175 cm²; HYPERFlask 10 × 172 = 1,720 cm² (US patent 9,752,111 B2); CellSTACK areas from the vendor data sheet",
        minimum=0.0,
        maximum=1e6,
        plausible=(25.0, 30000.0),
    ),
    "passage_limit": ParameterInfo(
        label=_("Highest passage allowed for the product"),
        unit="passage",
        source="Use early passages, before P5 (https://pmc.ncbi.nlm.nih.gov/articles/PMC8319262); the exact limit is set by the CPC",
        minimum=0,
        maximum=30,
        plausible=(1, 10),
        minimum_inclusive=True,
    ),
    "doubling_limit": ParameterInfo(
        label=_("Maximum cumulative population doublings (optional)"),
        unit="doublings",
        source="One study suggests capping at about 6 population doublings (http://scidoc.org/IJST-2328-3548-S2-001.php); off unless the CPC sets it",
        minimum=0.0,
        maximum=100.0,
        plausible=(3.0, 30.0),
    ),
}

_SPREADS = ("nucleated_cells_per_g", "adherent_fraction", "doubling_time_days")


@dataclass(frozen=True)
class ExpansionParameters:
    """Configurable culture assumptions; defaults follow the facts sheet and each is overridable."""

    nucleated_cells_per_g: Spread = Spread(fast=2.0e6, typical=1.0e6, slow=0.5e6)
    adherent_fraction: Spread = Spread(fast=0.10, typical=0.03, slow=0.01)
    doubling_time_days: Spread = Spread(fast=2.0, typical=3.5, slow=5.0)
    initial_lag_days: float = 3.0
    passage_lag_days: float = 1.0
    seeding_density_per_cm2: float = 3000.0
    confluent_density_per_cm2: float = 20000.0
    vessel_name: str = "T-175"
    vessel_area_cm2: float = 175.0
    passage_limit: int = 4
    doubling_limit: float | None = None

    def __post_init__(self) -> None:
        errors = self._errors()
        if errors:
            raise ValidationFailed(
                "expansion.invalid_parameters",
                _("Some expansion parameters are out of range: %(names)s.")
                % {"names": ", ".join(sorted(errors))},
                fields=errors,
            )

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any] | None = None) -> ExpansionParameters:
        """Apply API-style overrides to the defaults.

        A ranged parameter accepts {"fast", "typical", "slow"} (missing keys keep their default),
        a list of three, or a single number that sets the typical value and keeps the default
        relative spread. ``vessel`` picks a named vessel from VESSELS.
        """
        defaults = cls()
        if not overrides:
            return defaults
        known = {f.name for f in fields(cls)} | {"vessel"}
        errors: dict[str, Any] = {}
        changes: dict[str, Any] = {}
        for name, raw in overrides.items():
            if name not in known:
                errors[name] = _("Unknown expansion parameter.")
                continue
            try:
                if name == "vessel":
                    if raw not in VESSELS:
                        raise ValueError(
                            _("Unknown vessel; choose one of %(names)s.")
                            % {"names": ", ".join(VESSELS)}
                        )
                    changes["vessel_name"] = raw
                    changes.setdefault("vessel_area_cm2", VESSELS[raw])
                elif name in _SPREADS:
                    changes[name] = _spread_override(getattr(defaults, name), raw)
                elif name == "vessel_name":
                    changes[name] = str(raw)
                elif name == "passage_limit":
                    changes[name] = _as_int(raw)
                elif name == "doubling_limit":
                    changes[name] = None if raw is None else _as_number(raw)
                else:
                    changes[name] = _as_number(raw)
            except ValueError as exc:
                errors[name] = exc.args[0]
        if (
            "vessel_area_cm2" in overrides
            and "vessel" not in overrides
            and "vessel_name" not in overrides
        ):
            changes["vessel_name"] = str(_("custom vessel"))
        if errors:
            raise ValidationFailed(
                "expansion.invalid_parameters",
                _("Some expansion parameters could not be read: %(names)s.")
                % {"names": ", ".join(sorted(errors))},
                fields=errors,
            )
        return replace(defaults, **changes)

    def _errors(self) -> dict[str, Any]:
        errors: dict[str, Any] = {}
        for name, info in PARAMETERS.items():
            value = getattr(self, name)
            if value is None:
                continue
            values = (
                [value.fast, value.typical, value.slow] if isinstance(value, Spread) else [value]
            )
            for number in values:
                message = _range_error(number, info)
                if message is not None:
                    errors[name] = message
                    break
            if name in errors or not isinstance(value, Spread):
                continue
            ordered = (
                value.fast >= value.typical >= value.slow
                if info.higher_is_faster
                else value.fast <= value.typical <= value.slow
            )
            if not ordered:
                errors[name] = (
                    _(
                        "The fast value must be at least the typical, and the typical at least the slow."
                    )
                    if info.higher_is_faster
                    else _(
                        "The fast value must be at most the typical, and the typical at most the slow."
                    )
                )
        if not isinstance(self.passage_limit, int) or isinstance(self.passage_limit, bool):
            errors["passage_limit"] = _("Enter a whole number.")
        if (
            "seeding_density_per_cm2" not in errors
            and "confluent_density_per_cm2" not in errors
            and self.confluent_density_per_cm2 < 1.5 * self.seeding_density_per_cm2
        ):
            errors["seeding_density_per_cm2"] = _(
                "Seeding density must be well below the confluent density (at most two thirds), "
                "otherwise passages add no cells."
            )
        return errors

    def implausible(self) -> list[tuple[str, float]]:
        """Values inside the hard limits but outside the usual band, worth a second look."""
        found: list[tuple[str, float]] = []
        for name, info in PARAMETERS.items():
            value = getattr(self, name)
            if value is None:
                continue
            numbers = (
                [value.fast, value.typical, value.slow] if isinstance(value, Spread) else [value]
            )
            low, high = info.plausible
            found.extend((name, n) for n in numbers if not low <= n <= high)
        return found

    def scenario_value(self, name: str, scenario: Scenario) -> float:
        value = getattr(self, name)
        return value.get(scenario) if isinstance(value, Spread) else float(value)

    def as_dict(self) -> dict[str, Any]:
        """Values with unit and source, for the API response and the forecast printout."""
        result: dict[str, Any] = {}
        for name, info in PARAMETERS.items():
            value = getattr(self, name)
            result[name] = {
                "value": value.as_dict() if isinstance(value, Spread) else value,
                "unit": info.unit,
                "label": str(info.label),
                "source": info.source,
            }
        result["vessel_name"] = {
            "value": self.vessel_name,
            "unit": "",
            "label": str(_("Vessel")),
            "source": PARAMETERS["vessel_area_cm2"].source,
        }
        return result


def _as_number(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError(_("Enter a number."))
    if not math.isfinite(raw):
        raise ValueError(_("Enter a finite number."))
    return float(raw)


def _as_int(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or int(raw) != raw:
        raise ValueError(_("Enter a whole number."))
    return int(raw)


def _spread_override(default: Spread, raw: Any) -> Spread:
    if isinstance(raw, Mapping):
        unknown = set(raw) - {"fast", "typical", "slow"}
        if unknown:
            raise ValueError(_("Use the keys fast, typical and slow."))
        values = default.as_dict() | {k: _as_number(v) for k, v in raw.items()}
        return Spread(**values)
    if isinstance(raw, list | tuple):
        if len(raw) != 3:
            raise ValueError(_("Give three values: fast, typical, slow."))
        fast, typical, slow = (_as_number(v) for v in raw)
        return Spread(fast=fast, typical=typical, slow=slow)
    typical = _as_number(raw)
    if default.typical == 0:
        return Spread(fast=typical, typical=typical, slow=typical)
    factor = typical / default.typical
    return Spread(fast=default.fast * factor, typical=typical, slow=default.slow * factor)


def _range_error(value: float, info: ParameterInfo) -> Any | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return _("Enter a number.")
    too_low = value < info.minimum if info.minimum_inclusive else value <= info.minimum
    if too_low or value > info.maximum:
        if info.minimum_inclusive:
            return _("Must be between %(min)s and %(max)s %(unit)s.") % {
                "min": _fmt(info.minimum),
                "max": _fmt(info.maximum),
                "unit": info.unit,
            }
        return _("Must be more than %(min)s and at most %(max)s %(unit)s.") % {
            "min": _fmt(info.minimum),
            "max": _fmt(info.maximum),
            "unit": info.unit,
        }
    return None


def _fmt(value: float) -> str:
    """Readable number: scientific for cell counts, plain otherwise."""
    if value and abs(value) >= 1e5:
        return numbers.power_of_ten(value)
    if value and abs(value) < 1e-3:
        mantissa, exponent = f"{value:.1e}".split("e")
        return f"{mantissa} × 10^{int(exponent)}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Observation:
    """An actual viable-cell count. Without an area, the count is taken at harvest and all cells are
    reseeded into the next passage; with ``area_cm2`` it is an in-flask count on that area."""

    date: date
    passage: int
    cells: float
    area_cm2: float | None = None

    @classmethod
    def coerce(cls, value: Observation | Mapping[str, Any] | Sequence[Any]) -> Observation:
        if isinstance(value, Observation):
            return value
        if isinstance(value, Mapping):
            return cls(
                date=_as_date(value.get("date")),
                passage=_as_int(value.get("passage")),
                cells=_as_number(value.get("cells", value.get("cell_count"))),
                area_cm2=None if value.get("area_cm2") is None else _as_number(value["area_cm2"]),
            )
        if isinstance(value, str | bytes) or len(value) != 3:
            raise ValueError(_("Give date, passage and cell count."))
        day, passage, cells = value
        return cls(date=_as_date(day), passage=_as_int(passage), cells=_as_number(cells))


def _as_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(_("Enter a date as YYYY-MM-DD."))


@dataclass(frozen=True)
class PassageStep:
    """One passage of the plan: what is seeded, on how much area, and what comes out."""

    passage: int
    start_date: date
    seeded_cells: float
    area_cm2: float
    vessels: int
    end_date: date
    end_cells: float
    doublings: float
    reaches_target: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "passage": self.passage,
            "start_date": self.start_date.isoformat(),
            "seeded_cells": round(self.seeded_cells),
            "area_cm2": round(self.area_cm2, 1),
            "vessels": self.vessels,
            "end_date": self.end_date.isoformat(),
            "end_cells": round(self.end_cells),
            "doublings": round(self.doublings, 2),
            "reaches_target": self.reaches_target,
        }


@dataclass(frozen=True)
class ScenarioResult:
    """The forecast under one set of growth assumptions."""

    scenario: Scenario
    day: float
    date: date
    passages: int
    culture_area_cm2: float
    vessels: int
    starting_cells: float
    population_doublings: float
    doubling_time_days: float
    plan: tuple[PassageStep, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "day": round(self.day, 1),
            "passages": self.passages,
            "culture_area_cm2": round(self.culture_area_cm2, 1),
            "vessels": self.vessels,
            "starting_cells": round(self.starting_cells),
            "population_doublings": round(self.population_doublings, 2),
            "doubling_time_days": round(self.doubling_time_days, 2),
            "plan": [step.as_dict() for step in self.plan],
        }


@dataclass(frozen=True)
class ForecastWarning:
    """A reason to look again at the plan; codes are stable, messages translatable."""

    code: str
    severity: Severity
    message: Any
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = {"code": self.code, "severity": self.severity, "message": str(self.message)}
        if self.field:
            data["field"] = self.field
        return data


@dataclass(frozen=True)
class Forecast:
    """Earliest/likely/latest day the target is reached, with plan, warnings and explanations."""

    start_date: date
    tissue_g: float
    target_cells: float
    parameters: ExpansionParameters
    scenarios: Mapping[Scenario, ScenarioResult]
    warnings: tuple[ForecastWarning, ...]
    explanation: tuple[Any, ...]
    observations: tuple[Observation, ...] = field(default_factory=tuple)
    observed_doubling_time_days: float | None = None

    @property
    def earliest(self) -> date:
        return self.scenarios["fast"].date

    @property
    def likely(self) -> date:
        return self.scenarios["typical"].date

    @property
    def latest(self) -> date:
        return self.scenarios["slow"].date

    @property
    def passages(self) -> int:
        return self.scenarios["typical"].passages

    @property
    def culture_area_cm2(self) -> float:
        return self.scenarios["typical"].culture_area_cm2

    @property
    def plan(self) -> tuple[PassageStep, ...]:
        return self.scenarios["typical"].plan

    @property
    def feasible(self) -> bool:
        """False when the likely plan breaks a hard limit (passage or doubling limit)."""
        return not any(w.severity == "error" for w in self.warnings)

    def warning_codes(self) -> list[str]:
        return [w.code for w in self.warnings]

    def as_dict(self) -> dict[str, Any]:
        """The API response of POST /api/v1/processing/expansion-forecast (dates ISO 8601)."""
        return {
            "earliest": self.earliest.isoformat(),
            "likely": self.likely.isoformat(),
            "latest": self.latest.isoformat(),
            "passages": self.passages,
            "culture_area_cm2": round(self.culture_area_cm2, 1),
            "warnings": [w.as_dict() for w in self.warnings],
            "feasible": self.feasible,
            "start_date": self.start_date.isoformat(),
            "tissue_g": self.tissue_g,
            "target_cells": self.target_cells,
            "based_on_observations": bool(self.observations),
            "observed_doubling_time_days": (
                None
                if self.observed_doubling_time_days is None
                else round(self.observed_doubling_time_days, 2)
            ),
            "plan": [step.as_dict() for step in self.plan],
            "scenarios": {name: result.as_dict() for name, result in self.scenarios.items()},
            "explanation": [str(line) for line in self.explanation],
            "parameters": self.parameters.as_dict(),
        }


@dataclass
class _State:
    """Where a simulated culture stands: its passage, cells, day and the area it sits on."""

    passage: int
    cells: float
    day: float
    area_cm2: float
    lag_days: float


def _day_to_date(start: date, day: float) -> date:
    # A target reached part-way through a day is harvestable that day; tolerate float noise.
    return start + timedelta(days=max(0, math.ceil(day - 1e-9)))


def _simulate(
    *,
    scenario: Scenario,
    state: _State,
    target: float,
    doubling_time: float,
    params: ExpansionParameters,
    start_date: date,
    starting_cells: float,
) -> ScenarioResult:
    """Grow, passage at confluence, reseed everything, until the target count is reached."""
    steps: list[PassageStep] = []
    peak_area = state.area_cm2
    while True:
        capacity = state.area_cm2 * params.confluent_density_per_cm2
        reaches = target <= capacity
        end_cells = target if reaches else max(capacity, state.cells)
        doublings = math.log2(end_cells / state.cells) if end_cells > state.cells else 0.0
        lag = state.lag_days if doublings > 0 else 0.0
        end_day = state.day + lag + doublings * doubling_time
        peak_area = max(peak_area, state.area_cm2)
        steps.append(
            PassageStep(
                passage=state.passage,
                start_date=_day_to_date(start_date, state.day),
                seeded_cells=state.cells,
                area_cm2=state.area_cm2,
                vessels=max(1, math.ceil(state.area_cm2 / params.vessel_area_cm2 - 1e-9)),
                end_date=_day_to_date(start_date, end_day),
                end_cells=end_cells,
                doublings=doublings,
                reaches_target=reaches,
            )
        )
        if reaches or len(steps) > _MAX_SIMULATED_PASSAGES:
            break
        state = _State(
            passage=state.passage + 1,
            cells=end_cells,
            day=end_day,
            area_cm2=end_cells / params.seeding_density_per_cm2,
            lag_days=params.passage_lag_days,
        )
    final = steps[-1]
    total_doublings = math.log2(target / starting_cells) if target > starting_cells else 0.0
    return ScenarioResult(
        scenario=scenario,
        day=end_day,
        date=final.end_date,
        passages=final.passage,
        culture_area_cm2=peak_area,
        vessels=max(step.vessels for step in steps),
        starting_cells=starting_cells,
        population_doublings=total_doublings,
        doubling_time_days=doubling_time,
        plan=tuple(steps),
    )


def _validate_inputs(*, tissue_g: Any, target_cells: Any, start_date: Any) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    if (
        isinstance(tissue_g, bool)
        or not isinstance(tissue_g, int | float)
        or not (math.isfinite(tissue_g) and 0 < tissue_g <= 5000)
    ):
        errors["tissue_g"] = _("Enter the tissue weight in grams (more than 0, at most 5,000).")
    if (
        isinstance(target_cells, bool)
        or not isinstance(target_cells, int | float)
        or not (math.isfinite(target_cells) and 0 < target_cells <= 1e13)
    ):
        errors["target_cells"] = _("Enter the target cell number (more than 0, at most 10^13).")
    if not isinstance(start_date, date):
        errors["start_date"] = _("Enter the start date as a date.")
    return errors


def _input_warnings(
    *, tissue_g: float, target_cells: float, params: ExpansionParameters
) -> list[ForecastWarning]:
    warnings: list[ForecastWarning] = []
    if not 2 <= tissue_g <= 500:
        warnings.append(
            ForecastWarning(
                "implausible_input",
                "warning",
                _(
                    "A tissue weight of %(value)s g is unusual for a lipoaspirate harvest; please check it."
                )
                % {"value": _fmt(tissue_g)},
                field="tissue_g",
            )
        )
    if not 1e6 <= target_cells <= 1e11:
        warnings.append(
            ForecastWarning(
                "implausible_input",
                "warning",
                _(
                    "A target of %(value)s cells is unusual for a course of MSC doses; please check it."
                )
                % {"value": _fmt(target_cells)},
                field="target_cells",
            )
        )
    seen: set[str] = set()
    for name, value in params.implausible():
        if name in seen:
            continue
        seen.add(name)
        warnings.append(
            ForecastWarning(
                "implausible_input",
                "warning",
                _(
                    "The value %(value)s %(unit)s for “%(label)s” is outside the usual range; please check it."
                )
                % {
                    "value": _fmt(value),
                    "unit": PARAMETERS[name].unit,
                    "label": PARAMETERS[name].label,
                },
                field=name,
            )
        )
    return warnings


def _limit_warnings(
    *, results: Mapping[Scenario, ScenarioResult], params: ExpansionParameters
) -> list[ForecastWarning]:
    warnings: list[ForecastWarning] = []
    limit = params.passage_limit
    fast, typical, slow = results["fast"], results["typical"], results["slow"]
    if fast.passages > limit:
        warnings.append(
            ForecastWarning(
                "target_unreachable",
                "error",
                _(
                    "Even with fast growth the target needs passage %(passage)d, beyond the limit of "
                    "P%(limit)d. Harvest more tissue, lower the cells per dose or plan fewer doses."
                )
                % {"passage": fast.passages, "limit": limit},
                field="target_cells",
            )
        )
    elif typical.passages > limit:
        warnings.append(
            ForecastWarning(
                "passage_limit_exceeded",
                "error",
                _(
                    "With typical growth the target needs passage %(passage)d, beyond the limit of "
                    "P%(limit)d. Only fast growth would stay within the limit."
                )
                % {"passage": typical.passages, "limit": limit},
                field="passage_limit",
            )
        )
    elif slow.passages > limit:
        warnings.append(
            ForecastWarning(
                "passage_limit_at_risk",
                "warning",
                _(
                    "If growth is slow the target needs passage %(passage)d, beyond the limit of "
                    "P%(limit)d. Re-forecast from the first counts."
                )
                % {"passage": slow.passages, "limit": limit},
                field="passage_limit",
            )
        )
    if params.doubling_limit is not None and typical.population_doublings > params.doubling_limit:
        warnings.append(
            ForecastWarning(
                "doubling_limit_exceeded",
                "error",
                _(
                    "The target needs about %(doublings).1f population doublings, more than the "
                    "configured maximum of %(limit)s."
                )
                % {"doublings": typical.population_doublings, "limit": _fmt(params.doubling_limit)},
                field="doubling_limit",
            )
        )
    return warnings


def forecast(
    *,
    tissue_g: float,
    target_cells: float,
    start_date: date,
    parameters: ExpansionParameters | Mapping[str, Any] | None = None,
    actual_counts: Iterable[Observation | Mapping[str, Any] | Sequence[Any]] | None = None,
) -> Forecast:
    """Forecast when the culture reaches ``target_cells`` (doses × cells per dose).

    ``start_date`` is the day the SVF is seeded (harvest day for same-day processing). With
    ``actual_counts`` the forecast restarts from the latest count and, given two or more counts
    that show growth, uses the observed doubling time for the likely day.
    """
    errors = _validate_inputs(tissue_g=tissue_g, target_cells=target_cells, start_date=start_date)
    if errors:
        raise ValidationFailed(
            "expansion.invalid_input",
            _("The forecast request is incomplete or out of range."),
            fields=errors,
        )
    params = (
        parameters
        if isinstance(parameters, ExpansionParameters)
        else ExpansionParameters.from_overrides(parameters)
    )
    tissue_g = float(tissue_g)
    target_cells = float(target_cells)
    warnings = _input_warnings(tissue_g=tissue_g, target_cells=target_cells, params=params)
    observations = _clean_observations(actual_counts, start_date=start_date)

    doubling_times = {s: params.doubling_time_days.get(s) for s in SCENARIOS}
    observed_pdt: float | None = None
    explanation: list[Any] = []
    results: dict[Scenario, ScenarioResult] = {}

    if observations:
        observed_pdt, doubling_times = _observed_growth(observations, params, warnings)
        latest = observations[-1]
        for scenario in SCENARIOS:
            results[scenario] = _from_observation(
                scenario=scenario,
                latest=latest,
                target=target_cells,
                doubling_time=doubling_times[scenario],
                params=params,
                start_date=start_date,
            )
        explanation.extend(_observation_explanation(latest, observed_pdt, len(observations)))
    else:
        results = _from_tissue(
            tissue_g=tissue_g,
            target=target_cells,
            doubling_times=doubling_times,
            params=params,
            start_date=start_date,
        )
        explanation.extend(_tissue_explanation(tissue_g, params))

    warnings.extend(_limit_warnings(results=results, params=params))
    explanation.extend(_plan_explanation(results, target_cells, params))
    return Forecast(
        start_date=start_date,
        tissue_g=tissue_g,
        target_cells=target_cells,
        parameters=params,
        scenarios=results,
        warnings=tuple(warnings),
        explanation=tuple(explanation),
        observations=tuple(observations),
        observed_doubling_time_days=observed_pdt,
    )


def _observed_growth(
    observations: list[Observation], params: ExpansionParameters, warnings: list[ForecastWarning]
) -> tuple[float | None, dict[Scenario, float]]:
    """The doubling time the counts show (None without growth) and each scenario's doubling
    time scaled to it; adds the growth warnings."""
    doubling_times = {s: params.doubling_time_days.get(s) for s in SCENARIOS}
    observed_pdt = _observed_doubling_time(observations, params)
    if observed_pdt is not None:
        ratio = observed_pdt / params.doubling_time_days.typical
        doubling_times = {s: params.doubling_time_days.get(s) * ratio for s in SCENARIOS}
        warnings.extend(_growth_warnings(observed_pdt, params))
    elif len(observations) > 1:
        warnings.append(
            ForecastWarning(
                "no_growth_observed",
                "warning",
                _("The counts so far show no growth; the forecast assumes growth resumes now."),
                field="actual_counts",
            )
        )
    return observed_pdt, doubling_times


def _from_tissue(
    *,
    tissue_g: float,
    target: float,
    doubling_times: Mapping[Scenario, float],
    params: ExpansionParameters,
    start_date: date,
) -> dict[Scenario, ScenarioResult]:
    """Each scenario simulated from the harvested tissue (no counts yet): adherent cells seeded
    at the seeding density after the initial lag."""
    results: dict[Scenario, ScenarioResult] = {}
    for scenario in SCENARIOS:
        adherent = (
            tissue_g
            * params.nucleated_cells_per_g.get(scenario)
            * params.adherent_fraction.get(scenario)
        )
        state = _State(
            passage=0,
            cells=adherent,
            day=0.0,
            area_cm2=adherent / params.seeding_density_per_cm2,
            lag_days=params.initial_lag_days,
        )
        results[scenario] = _simulate(
            scenario=scenario,
            state=state,
            target=target,
            doubling_time=doubling_times[scenario],
            params=params,
            start_date=start_date,
            starting_cells=adherent,
        )
    return results


def _clean_observations(
    raw: Iterable[Observation | Mapping[str, Any] | Sequence[Any]] | None, *, start_date: date
) -> list[Observation]:
    if raw is None:
        return []
    observations: list[Observation] = []
    errors: dict[str, Any] = {}
    for index, item in enumerate(raw):
        try:
            observation = Observation.coerce(item)
        except (ValueError, TypeError) as exc:
            message = (
                exc.args[0]
                if isinstance(exc, ValueError) and exc.args
                else _("Give date, passage and cell count.")
            )
            errors[f"actual_counts[{index}]"] = message
            continue
        if observation.cells <= 0 or observation.passage < 0:
            errors[f"actual_counts[{index}]"] = _(
                "Cell count must be positive and passage 0 or more."
            )
        elif observation.date < start_date:
            errors[f"actual_counts[{index}]"] = _(
                "A count cannot be dated before the culture started."
            )
        elif observation.area_cm2 is not None and observation.area_cm2 <= 0:
            errors[f"actual_counts[{index}]"] = _("The culture area must be positive.")
        observations.append(observation)
    if errors:
        raise ValidationFailed(
            "expansion.invalid_observations",
            _("Some cell counts could not be used."),
            fields=errors,
        )
    observations.sort(key=lambda o: (o.date, o.passage))
    for earlier, later in itertools.pairwise(observations):
        if later.passage < earlier.passage:
            raise ValidationFailed(
                "expansion.invalid_observations",
                _(
                    "The passage number goes down between %(first)s and %(second)s; please check the counts."
                )
                % {"first": earlier.date.isoformat(), "second": later.date.isoformat()},
                fields={"actual_counts": _("Passages must not decrease over time.")},
            )
    return observations


def _observed_doubling_time(
    observations: Sequence[Observation], params: ExpansionParameters
) -> float | None:
    """Pool the growth between consecutive counts; passage lags are taken out of the elapsed time."""
    growth_days = 0.0
    doublings = 0.0
    for earlier, later in itertools.pairwise(observations):
        if later.cells <= earlier.cells:
            continue
        elapsed = float((later.date - earlier.date).days)
        elapsed -= params.passage_lag_days * (later.passage - earlier.passage)
        if elapsed <= 0:
            continue
        growth_days += elapsed
        doublings += math.log2(later.cells / earlier.cells)
    if doublings <= 0:
        return None
    return growth_days / doublings


def _growth_warnings(observed: float, params: ExpansionParameters) -> list[ForecastWarning]:
    if observed > params.doubling_time_days.slow:
        return [
            ForecastWarning(
                "growth_slower_than_expected",
                "warning",
                _(
                    "The cells double every %(observed).1f days, slower than the slow planning value of "
                    "%(slow).1f days. Review the culture and the infusion dates."
                )
                % {"observed": observed, "slow": params.doubling_time_days.slow},
                field="doubling_time_days",
            )
        ]
    if observed < params.doubling_time_days.fast:
        return [
            ForecastWarning(
                "growth_faster_than_expected",
                "info",
                _(
                    "The cells double every %(observed).1f days, faster than the fast planning value of "
                    "%(fast).1f days. Check the counts for errors."
                )
                % {"observed": observed, "fast": params.doubling_time_days.fast},
                field="doubling_time_days",
            )
        ]
    return []


def _from_observation(
    *,
    scenario: Scenario,
    latest: Observation,
    target: float,
    doubling_time: float,
    params: ExpansionParameters,
    start_date: date,
) -> ScenarioResult:
    day = float((latest.date - start_date).days)
    if latest.cells >= target:
        step = PassageStep(
            passage=latest.passage,
            start_date=latest.date,
            seeded_cells=latest.cells,
            area_cm2=latest.area_cm2 or latest.cells / params.confluent_density_per_cm2,
            vessels=max(1, math.ceil((latest.area_cm2 or 0.0) / params.vessel_area_cm2)),
            end_date=latest.date,
            end_cells=latest.cells,
            doublings=0.0,
            reaches_target=True,
        )
        return ScenarioResult(
            scenario=scenario,
            day=day,
            date=latest.date,
            passages=latest.passage,
            culture_area_cm2=step.area_cm2,
            vessels=step.vessels,
            starting_cells=latest.cells,
            population_doublings=0.0,
            doubling_time_days=doubling_time,
            plan=(step,),
        )
    if latest.area_cm2 is not None:
        state = _State(latest.passage, latest.cells, day, latest.area_cm2, lag_days=0.0)
    else:
        state = _State(
            latest.passage + 1,
            latest.cells,
            day,
            latest.cells / params.seeding_density_per_cm2,
            lag_days=params.passage_lag_days,
        )
    return _simulate(
        scenario=scenario,
        state=state,
        target=target,
        doubling_time=doubling_time,
        params=params,
        start_date=start_date,
        starting_cells=latest.cells,
    )


def _tissue_explanation(tissue_g: float, params: ExpansionParameters) -> list[Any]:
    nucleated = tissue_g * params.nucleated_cells_per_g.typical
    adherent = nucleated * params.adherent_fraction.typical
    return [
        _(
            "%(tissue)s g of tissue gives about %(nucleated)s nucleated cells; about %(percent)s %% of "
            "them (%(adherent)s cells) are adherent progenitors that start the culture."
        )
        % {
            "tissue": _fmt(tissue_g),
            "nucleated": _fmt(nucleated),
            "percent": _fmt(params.adherent_fraction.typical * 100),
            "adherent": _fmt(adherent),
        }
    ]


def _observation_explanation(
    latest: Observation, observed_pdt: float | None, count: int
) -> list[Any]:
    lines: list[Any] = [
        _("Re-forecast from the count of %(cells)s cells at passage %(passage)d on %(date)s.")
        % {"cells": _fmt(latest.cells), "passage": latest.passage, "date": latest.date.isoformat()}
    ]
    if observed_pdt is not None:
        lines.append(
            _(
                "The %(count)d counts show a doubling time of %(pdt).1f days; the likely day uses it."
            )
            % {"count": count, "pdt": observed_pdt}
        )
    else:
        lines.append(_("Too few counts to measure growth; the planning doubling times are used."))
    return lines


def _plan_explanation(
    results: Mapping[Scenario, ScenarioResult], target: float, params: ExpansionParameters
) -> list[Any]:
    typical = results["typical"]
    fold = params.confluent_density_per_cm2 / params.seeding_density_per_cm2
    return [
        _(
            "Reaching %(target)s cells takes about %(doublings).1f population doublings at a doubling "
            "time of %(pdt).1f days."
        )
        % {
            "target": _fmt(target),
            "doublings": typical.population_doublings,
            "pdt": typical.doubling_time_days,
        },
        _(
            "Each passage grows cells from %(seed)s to %(confluent)s per cm² (%(fold).1f-fold) and "
            "reseeds all of them; the target is reached at passage %(passage)d on %(area)s cm² "
            "(%(vessels)d × %(vessel)s)."
        )
        % {
            "seed": _fmt(params.seeding_density_per_cm2),
            "confluent": _fmt(params.confluent_density_per_cm2),
            "fold": fold,
            "passage": typical.passages,
            "area": _fmt(round(typical.culture_area_cm2)),
            "vessels": typical.vessels,
            "vessel": params.vessel_name,
        },
        _(
            "Earliest assumes high yield and fast growth (doubling every %(fast).1f days); latest assumes "
            "low yield and slow growth (every %(slow).1f days)."
        )
        % {"fast": results["fast"].doubling_time_days, "slow": results["slow"].doubling_time_days},
    ]
