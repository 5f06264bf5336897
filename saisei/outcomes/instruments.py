"""Outcome instruments as data, with their scoring and range rules.

Licensed instruments (MMSE, MoCA, CDR, NPI/NPI-Q, ZBI, QoL-AD, and ADAS-Cog/ADCS-ADL until their
terms are checked) are score-entry only: the catalogue holds ranges and scoring arithmetic, never
item wording (facts/outcomes.md §1.2). Only the clinic's own caregiver diary is entered item by item.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.utils.translation import gettext_lazy as _

from saisei.core.errors import NotFound, ValidationFailed

KNIGHT = "https://knightadrc.wustl.edu/professionals-clinicians/cdr-dementia-staging-instrument"
_EPS = 1e-9


class LicenceStatus(StrEnum):
    """Who may use the instrument and what the software may ship (facts §1.2)."""

    FREE = "free"  # we may ship item text and administer item by item
    LICENSED = "licensed"  # rights-holder licence needed; score entry only
    UNCONFIRMED = "unconfirmed"  # terms not checked; treated as licensed until a lawyer confirms


class EntryMode(StrEnum):
    TOTALS = "totals"
    ITEMS = "items"


class Respondent(StrEnum):
    """Whose answers produce the score; it decides bias caveats such as practice effects."""

    PATIENT_PERFORMANCE = "patient_performance"
    PATIENT_SELF_REPORT = "patient_self_report"
    INFORMANT_INTERVIEW = "informant_interview"  # clinician interviews patient and/or informant
    CAREGIVER_PROXY = "caregiver_proxy"  # caregiver reports about the patient
    CAREGIVER_SELF = "caregiver_self"  # caregiver reports about themselves
    CLINICIAN = "clinician"


class FieldKind(StrEnum):
    SCORE = "score"  # numeric score; returned as a sub-score
    FLAG = "flag"  # yes/no input (e.g. symptom present, education point added)
    AUX = "aux"  # numeric input that is not a score (e.g. years of education)
    CHOICE = "choice"  # one of a set of codes (e.g. FAST stage)


@dataclass(frozen=True)
class ScoreRange:
    """Allowed values: a closed interval with an optional step, or an explicit set of values."""

    low: float
    high: float
    step: float | None = 1.0  # None: any real value (e.g. ADAS-Cog word-recall means)
    allowed: tuple[float, ...] | None = None

    def problem(self, value: float) -> str | None:
        """Return an error code when value is not allowed, else None."""
        if value < self.low or value > self.high:
            return "out_of_range"
        if self.allowed is not None:
            if not any(abs(value - a) < _EPS for a in self.allowed):
                return "not_allowed_value"
            return None
        if self.step is not None:
            k = (value - self.low) / self.step
            if abs(k - round(k)) > 1e-6:
                return "wrong_step"
        return None

    def describe(self) -> str:
        if self.allowed is not None:
            return ", ".join(_fmt(a) for a in self.allowed)
        step = "" if self.step in (None, 1.0) else f" (steps of {_fmt(self.step)})"
        return f"{_fmt(self.low)}–{_fmt(self.high)}{step}"


@dataclass(frozen=True)
class Field:
    """One value a rater enters: a sub-score, an item, a flag or an auxiliary number."""

    code: str
    label: Any
    kind: FieldKind = FieldKind.SCORE
    range: ScoreRange | None = None
    in_total: bool = True  # adds into the instrument total
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Instrument:
    """An outcome instrument: ranges, scoring arithmetic, direction of worse and licence status."""

    code: str
    name: Any
    version: str
    licence: LicenceStatus
    licence_holder: str
    entry_mode: EntryMode
    total: ScoreRange
    higher_is_worse: bool
    respondent: Respondent
    requires_rater_credential: bool
    source: str
    fields: tuple[Field, ...] = ()
    validated: bool = True
    # CDR: the six boxes are entered all together or not at all, so the sum can be checked.
    all_or_none_subscores: bool = False
    # Custom scorer for instruments whose arithmetic is not "sub-scores add up to the total".
    scorer: Callable[[Instrument, Mapping[str, Any]], Score] | None = None
    # measure code -> "total" or a sub-score code; measures are what trajectories and cohorts plot
    measures: Mapping[str, str] = field(default_factory=dict)
    loinc: str | None = None  # validate against a terminology server before export (facts §5)
    notes: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    def get_field(self, code: str) -> Field | None:
        return next((f for f in self.fields if f.code == code), None)

    @property
    def score_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.kind == FieldKind.SCORE)

    @property
    def ships_item_text(self) -> bool:
        return self.licence == LicenceStatus.FREE and self.entry_mode == EntryMode.ITEMS


@dataclass(frozen=True)
class Issue:
    """One refusal: the field it concerns, a stable code and a message the rater can act on."""

    field: str
    code: str
    message: str


@dataclass
class Score:
    """Result of validating an entry: the total, sub-scores and every problem found."""

    instrument: str
    total: float | None
    subscores: dict[str, float] = field(default_factory=dict)
    measures: dict[str, float] = field(default_factory=dict)
    errors: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        """Turn problems into the domain error the API maps to a 422 with per-field messages."""
        if self.errors:
            fields: dict[str, list[str]] = {}
            for issue in self.errors:
                fields.setdefault(issue.field, []).append(issue.message)
            raise ValidationFailed(
                "outcomes.invalid_score",
                _("The scores entered are not possible for this instrument."),
                fields,
            )


@dataclass(frozen=True)
class RaterCredential:
    """What lets this rater enter a licensed instrument: a certification or a licence reference."""

    rater_id: str
    kind: str  # "certification" (e.g. MoCA) or "licence" (e.g. clinic's CDR/MMSE licence)
    reference: str
    expires_on: date | None = None


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        v = float(value)
        return v if math.isfinite(v) else None
    return None


def _range_issue(code: str, label: Any, rng: ScoreRange, value: float) -> Issue | None:
    problem = rng.problem(value)
    if problem is None:
        return None
    params = {"label": label, "value": _fmt(value), "low": _fmt(rng.low), "high": _fmt(rng.high)}
    if rng.allowed is not None:
        params["allowed"] = rng.describe()
        message = _("%(label)s must be one of %(allowed)s; %(value)s is not possible.")
    elif problem == "wrong_step":
        params["step"] = _fmt(rng.step or 1)
        message = _(
            "%(label)s goes from %(low)s to %(high)s in steps of %(step)s; %(value)s is not possible."
        )
    else:
        message = _("%(label)s must be from %(low)s to %(high)s; %(value)s is not possible.")
    return Issue(code, problem, str(message) % params)


def _read_fields(instrument: Instrument, values: Mapping[str, Any], score: Score) -> dict[str, Any]:
    """Type- and range-check every entered value; return the clean ones."""
    clean: dict[str, Any] = {}
    for key, raw in values.items():
        if raw is None:
            continue
        if key == "total":
            num = _as_number(raw)
            if num is None:
                score.errors.append(
                    Issue(key, "not_a_number", str(_("The total must be a number.")))
                )
                continue
            issue = _range_issue(key, _("The total"), instrument.total, num)
            if issue:
                score.errors.append(issue)
                continue
            clean[key] = num
            continue
        fld = instrument.get_field(key)
        if fld is None:
            score.errors.append(
                Issue(
                    key,
                    "unknown_field",
                    str(_("This instrument has no field called %(f)s.")) % {"f": key},
                )
            )
            continue
        if fld.kind == FieldKind.FLAG:
            if not isinstance(raw, bool):
                score.errors.append(
                    Issue(
                        key,
                        "not_yes_no",
                        str(_("%(label)s must be yes or no.")) % {"label": fld.label},
                    )
                )
                continue
            clean[key] = raw
        elif fld.kind == FieldKind.CHOICE:
            if raw not in fld.choices:
                score.errors.append(
                    Issue(
                        key,
                        "not_allowed_value",
                        str(_("%(label)s must be one of %(allowed)s."))
                        % {"label": fld.label, "allowed": ", ".join(fld.choices)},
                    )
                )
                continue
            clean[key] = raw
        else:
            num = _as_number(raw)
            if num is None:
                score.errors.append(
                    Issue(
                        key,
                        "not_a_number",
                        str(_("%(label)s must be a number.")) % {"label": fld.label},
                    )
                )
                continue
            if fld.range is not None:
                issue = _range_issue(key, fld.label, fld.range, num)
                if issue:
                    score.errors.append(issue)
                    continue
            clean[key] = num
    for fld in instrument.fields:
        if (
            fld.required
            and fld.code not in clean
            and not any(i.field == fld.code for i in score.errors)
        ):
            score.errors.append(
                Issue(fld.code, "required", str(_("%(label)s is required.")) % {"label": fld.label})
            )
    return clean


def _total_mismatch(entered: float, computed: float) -> Issue:
    return Issue(
        "total",
        "total_mismatch",
        str(
            _("The total entered (%(entered)s) does not equal the sum of the parts (%(computed)s).")
        )
        % {"entered": _fmt(entered), "computed": _fmt(computed)},
    )


def _total_unreachable(entered: float) -> Issue:
    return Issue(
        "total",
        "total_inconsistent",
        str(_("The total entered (%(entered)s) cannot be reached from the sub-scores entered."))
        % {"entered": _fmt(entered)},
    )


def _additive_scorer(instrument: Instrument, values: Mapping[str, Any]) -> Score:
    """Sub-scores that are entered must fit inside the total; a complete set must equal it."""
    score = Score(instrument=instrument.code, total=None)
    clean = _read_fields(instrument, values, score)
    parts = [f for f in instrument.score_fields if f.in_total]
    given = [f for f in parts if f.code in clean]
    missing = [f for f in parts if f.code not in clean]
    for f in instrument.score_fields:
        if f.code in clean:
            score.subscores[f.code] = clean[f.code]
    if instrument.entry_mode == EntryMode.ITEMS and missing:
        for f in missing:
            if not any(i.field == f.code for i in score.errors):
                score.errors.append(
                    Issue(f.code, "required", str(_("%(label)s is required.")) % {"label": f.label})
                )
        return score
    if instrument.all_or_none_subscores and given and missing:
        score.errors.append(
            Issue(
                missing[0].code,
                "incomplete_subscores",
                str(_("Enter all of %(parts)s, or none of them, so the total can be checked."))
                % {"parts": ", ".join(str(f.label) for f in parts)},
            )
        )
        return score
    if score.errors:
        return score
    parts_sum = sum(clean[f.code] for f in given)
    entered = clean.get("total")
    if parts and not missing:
        if entered is not None and abs(entered - parts_sum) > 1e-6:
            score.errors.append(_total_mismatch(entered, parts_sum))
            return score
        score.total = parts_sum
    elif entered is None:
        score.errors.append(Issue("total", "required", str(_("The total is required."))))
        return score
    else:
        room = sum(f.range.high for f in missing if f.range is not None)
        if given and (parts_sum > entered + 1e-6 or entered - parts_sum > room + 1e-6):
            score.errors.append(_total_unreachable(entered))
            return score
        score.total = entered
    return score


def _cdr_checks(instrument: Instrument, values: Mapping[str, Any]) -> Score:
    score = _additive_scorer(instrument, values)
    boxes = [f.code for f in instrument.score_fields if f.in_total]
    if score.ok and all(b in score.subscores for b in boxes) and score.total == 0:
        glob = score.subscores.get("global")
        if glob is not None and glob > 0:
            score.errors.append(
                Issue(
                    "global",
                    "global_inconsistent",
                    str(_("The global CDR cannot show impairment when every box score is 0.")),
                )
            )
    return score


def _moca_scorer(instrument: Instrument, values: Mapping[str, Any]) -> Score:
    """MoCA total includes the education point; it is capped at 30 and needs a 'yes/no' for the point."""
    score = Score(instrument=instrument.code, total=None)
    clean = _read_fields(instrument, values, score)
    if score.errors:
        return score
    point = 1.0 if clean["education_point"] else 0.0
    limit = instrument.params["education_point_max_years"]
    years = clean.get("education_years")
    if years is not None and bool(point) != (years <= limit):
        score.errors.append(
            Issue(
                "education_point",
                "education_point_mismatch",
                str(
                    _(
                        "The education point is added only for %(limit)s or fewer years of education; the years entered are %(years)s."
                    )
                )
                % {"limit": _fmt(limit), "years": _fmt(years)},
            )
        )
        return score
    domains = [f for f in instrument.score_fields if f.in_total]
    given = [f for f in domains if f.code in clean]
    for f in given:
        score.subscores[f.code] = clean[f.code]
    entered = clean.get("total")
    if point and entered is not None and entered < 1:
        score.errors.append(
            Issue(
                "total",
                "education_point_inconsistent",
                str(_("A total that includes the education point cannot be 0.")),
            )
        )
        return score
    raw = sum(clean[f.code] for f in given)
    if len(given) == len(domains):
        computed = min(instrument.total.high, raw + point)
        if entered is not None and abs(entered - computed) > 1e-6:
            score.errors.append(_total_mismatch(entered, computed))
            return score
        score.total = computed
        score.subscores["raw_total"] = raw
        return score
    if entered is None:
        score.errors.append(Issue("total", "required", str(_("The total is required."))))
        return score
    room = sum(f.range.high for f in domains if f.code not in clean and f.range is not None)
    if raw > entered + 1e-6 or (entered - point) - raw > room + 1e-6:
        score.errors.append(_total_unreachable(entered))
        return score
    score.total = entered
    return score


NPI_DOMAINS: tuple[tuple[str, Any], ...] = (
    ("delusions", _("Delusions")),
    ("hallucinations", _("Hallucinations")),
    ("agitation", _("Agitation or aggression")),
    ("depression", _("Depression or low mood")),
    ("anxiety", _("Anxiety")),
    ("elation", _("Elation or euphoria")),
    ("apathy", _("Apathy or indifference")),
    ("disinhibition", _("Disinhibition")),
    ("irritability", _("Irritability or lability")),
    ("motor", _("Aberrant motor behaviour")),
    ("night_time", _("Night-time behaviour and sleep")),
    ("appetite", _("Appetite and eating")),
)


def _npiq_scorer(instrument: Instrument, values: Mapping[str, Any]) -> Score:
    """NPI-Q: severity and distress exist only for symptoms the caregiver says are present."""
    score = Score(instrument=instrument.code, total=None)
    clean = _read_fields(instrument, values, score)
    if score.errors:
        return score
    domain_keys = [k for k in clean if "." in k]
    entered_sev = clean.get("total")
    entered_dis = clean.get("distress_total")
    if domain_keys:
        return _npiq_from_domains(score, clean, entered_sev, entered_dis)
    return _npiq_from_totals(score, entered_sev, entered_dis)


def _npiq_domain(
    score: Score, clean: Mapping[str, Any], code: str, label: Any
) -> tuple[float, float]:
    """One NPI-Q domain: record its ratings on ``score`` (or the errors) and return its severity
    and distress (0 when absent or not rated)."""
    present = clean.get(f"{code}.present")
    sev = clean.get(f"{code}.severity")
    dis = clean.get(f"{code}.distress")
    if present is None:
        score.errors.append(
            Issue(
                f"{code}.present",
                "required",
                str(_("Say whether %(domain)s was present in the past month.")) % {"domain": label},
            )
        )
        return 0.0, 0.0
    if not present:
        for key, val in ((f"{code}.severity", sev), (f"{code}.distress", dis)):
            if val is not None:
                score.errors.append(
                    Issue(
                        key,
                        "rating_without_symptom",
                        str(
                            _(
                                "%(domain)s is marked absent, so it cannot have a severity or distress rating."
                            )
                        )
                        % {"domain": label},
                    )
                )
        return 0.0, 0.0
    if sev is None:
        score.errors.append(
            Issue(
                f"{code}.severity",
                "required",
                str(_("%(domain)s is present, so its severity (1–3) is required."))
                % {"domain": label},
            )
        )
    if dis is None:
        score.errors.append(
            Issue(
                f"{code}.distress",
                "required",
                str(_("%(domain)s is present, so the caregiver distress rating (0–5) is required."))
                % {"domain": label},
            )
        )
    if sev is not None:
        score.subscores[f"{code}.severity"] = sev
    if dis is not None:
        score.subscores[f"{code}.distress"] = dis
    return sev or 0.0, dis or 0.0


def _npiq_from_domains(
    score: Score, clean: Mapping[str, Any], entered_sev: Any, entered_dis: Any
) -> Score:
    """NPI-Q scored from the twelve domains; entered totals must equal the domain sums."""
    sev_total = 0.0
    dis_total = 0.0
    for code, label in NPI_DOMAINS:
        sev, dis = _npiq_domain(score, clean, code, label)
        sev_total += sev
        dis_total += dis
    if score.errors:
        return score
    if entered_sev is not None and abs(entered_sev - sev_total) > 1e-6:
        score.errors.append(_total_mismatch(entered_sev, sev_total))
    if entered_dis is not None and abs(entered_dis - dis_total) > 1e-6:
        score.errors.append(
            Issue(
                "distress_total",
                "total_mismatch",
                str(
                    _(
                        "The distress total entered (%(entered)s) does not equal the sum of the domain ratings (%(computed)s)."
                    )
                )
                % {"entered": _fmt(entered_dis), "computed": _fmt(dis_total)},
            )
        )
    if score.errors:
        return score
    score.total = sev_total
    score.subscores["distress_total"] = dis_total
    return score


def _npiq_from_totals(score: Score, entered_sev: Any, entered_dis: Any) -> Score:
    """NPI-Q entered as totals only: both are required and distress cannot exceed 5 × severity."""
    if entered_sev is None:
        score.errors.append(Issue("total", "required", str(_("The severity total is required."))))
        return score
    if entered_dis is None:
        score.errors.append(
            Issue("distress_total", "required", str(_("The distress total is required.")))
        )
        return score
    # Each present symptom adds 1–3 severity and 0–5 distress, so distress ≤ 5 × severity.
    if entered_dis > 5 * entered_sev + 1e-6:
        score.errors.append(
            Issue(
                "distress_total",
                "distress_without_symptom",
                str(
                    _(
                        "Caregiver distress of %(dis)s is not possible with a severity total of %(sev)s: distress is rated only for symptoms that are present."
                    )
                )
                % {"dis": _fmt(entered_dis), "sev": _fmt(entered_sev)},
            )
        )
        return score
    score.total = entered_sev
    score.subscores["distress_total"] = entered_dis
    return score


FAST_STAGES: tuple[str, ...] = (
    "1", "2", "3", "4", "5",
    "6a", "6b", "6c", "6d", "6e",
    "7a", "7b", "7c", "7d", "7e", "7f",
)  # fmt: skip


def _fast_scorer(instrument: Instrument, values: Mapping[str, Any]) -> Score:
    """FAST is ordinal: the stage code maps to its rank 1–16 so it can be plotted, not averaged."""
    score = Score(instrument=instrument.code, total=None)
    clean = _read_fields(instrument, values, score)
    if score.errors:
        return score
    rank = float(FAST_STAGES.index(clean["stage"]) + 1)
    entered = clean.get("total")
    if entered is not None and entered != rank:
        score.errors.append(_total_mismatch(entered, rank))
        return score
    score.total = rank
    return score


def _score_field(
    code: str,
    label: Any,
    high: float,
    *,
    low: float = 0,
    step: float | None = 1.0,
    allowed: tuple[float, ...] | None = None,
    in_total: bool = True,
    required: bool = False,
) -> Field:
    return Field(
        code, label, FieldKind.SCORE, ScoreRange(low, high, step, allowed), in_total, required
    )


CDR_BOX_VALUES = (0.0, 0.5, 1.0, 2.0, 3.0)
# The facts sheet lists 0/0.5/1/2/3 for every box; if the clinic's licensed CDR materials restrict a
# box further (e.g. personal care), edit this data rather than the scorer.

_DIARY_ITEM = ScoreRange(0, 3)

INSTRUMENTS: dict[str, Instrument] = {}


def _register(instrument: Instrument) -> Instrument:
    INSTRUMENTS[instrument.code] = instrument
    return instrument


MMSE = _register(
    Instrument(
        code="MMSE",
        name=_("Mini-Mental State Examination (MMSE)"),
        version="1",
        licence=LicenceStatus.LICENSED,
        licence_holder="PAR (exclusive publisher and licensor)",
        entry_mode=EntryMode.TOTALS,
        total=ScoreRange(0, 30),
        higher_is_worse=False,
        respondent=Respondent.PATIENT_PERFORMANCE,
        requires_rater_credential=True,
        fields=(
            _score_field("orientation", _("Orientation"), 10),
            _score_field("registration", _("Registration"), 3),
            _score_field("attention", _("Attention and calculation"), 5),
            _score_field("recall", _("Recall"), 3),
            _score_field("language", _("Language"), 8),
            _score_field("copying", _("Copying"), 1),
        ),
        measures={"MMSE": "total"},
        loinc="72106-8",
        source=(
            "Folstein, Folstein & McHugh, J Psychiatr Res 1975;12:189–198; published and licensed "
            "by PAR (https://www.parinc.com); total score entry only"
        ),
    )
)

MOCA = _register(
    Instrument(
        code="MOCA",
        name=_("Montreal Cognitive Assessment (MoCA)"),
        version="1",
        licence=LicenceStatus.LICENSED,
        licence_holder="Z. Nasreddine / MoCA Cognition (certified raters only)",
        entry_mode=EntryMode.TOTALS,
        total=ScoreRange(0, 30),
        higher_is_worse=False,
        respondent=Respondent.PATIENT_PERFORMANCE,
        requires_rater_credential=True,
        fields=(
            _score_field("visuospatial_executive", _("Visuospatial and executive"), 5),
            _score_field("naming", _("Naming"), 3),
            _score_field("attention", _("Attention"), 6),
            _score_field("language", _("Language"), 3),
            _score_field("abstraction", _("Abstraction"), 2),
            _score_field("delayed_recall", _("Delayed recall"), 5),
            _score_field("orientation", _("Orientation"), 6),
            Field("education_point", _("Education point added"), FieldKind.FLAG, required=True),
            Field("education_years", _("Years of education"), FieldKind.AUX, ScoreRange(0, 30)),
        ),
        scorer=_moca_scorer,
        measures={"MOCA": "total"},
        loinc="72172-0",
        params={"education_point_max_years": 12},
        notes="Education threshold is a parameter: confirm against the clinic's licensed MoCA version.",
        source=(
            "Nasreddine et al., J Am Geriatr Soc 2005;53:695–699; rater certification for 2 years "
            "(https://mocacognition.com)"
        ),
    )
)

CDR = _register(
    Instrument(
        code="CDR",
        name=_("Clinical Dementia Rating (CDR), sum of boxes"),
        version="1",
        licence=LicenceStatus.LICENSED,
        licence_holder="Knight ADRC, Washington University (licence needed for any use)",
        entry_mode=EntryMode.TOTALS,
        total=ScoreRange(0, 18, 0.5),
        higher_is_worse=True,
        respondent=Respondent.INFORMANT_INTERVIEW,
        requires_rater_credential=True,
        fields=(
            _score_field("memory", _("Memory box"), 3, allowed=CDR_BOX_VALUES),
            _score_field("orientation", _("Orientation box"), 3, allowed=CDR_BOX_VALUES),
            _score_field(
                "judgement", _("Judgement and problem solving box"), 3, allowed=CDR_BOX_VALUES
            ),
            _score_field("community", _("Community affairs box"), 3, allowed=CDR_BOX_VALUES),
            _score_field("home_hobbies", _("Home and hobbies box"), 3, allowed=CDR_BOX_VALUES),
            _score_field("personal_care", _("Personal care box"), 3, allowed=CDR_BOX_VALUES),
            # The global score comes from the licensed algorithm; the rater enters it, we never derive it.
            _score_field("global", _("Global CDR"), 3, allowed=CDR_BOX_VALUES, in_total=False),
        ),
        all_or_none_subscores=True,
        scorer=_cdr_checks,
        measures={"CDR-SB": "total", "CDR-GLOBAL": "global"},
        source=(
            "Morris, Neurology 1993;43:2412–2414; Knight ADRC, Washington University, licence "
            f"required ({KNIGHT}/copyright-licensing/)"
        ),
    )
)

NPI_Q = _register(
    Instrument(
        code="NPI-Q",
        name=_("Neuropsychiatric Inventory Questionnaire (NPI-Q)"),
        version="1",
        licence=LicenceStatus.LICENSED,
        licence_holder="J. L. Cummings (free academic use; fee for commercial use)",
        entry_mode=EntryMode.TOTALS,
        total=ScoreRange(0, 36),
        higher_is_worse=True,
        respondent=Respondent.CAREGIVER_PROXY,
        requires_rater_credential=True,
        fields=(
            _score_field("distress_total", _("Caregiver distress total"), 60, in_total=False),
            *(
                f
                for code, label in NPI_DOMAINS
                for f in (
                    Field(f"{code}.present", label, FieldKind.FLAG),
                    _score_field(f"{code}.severity", label, 3, low=1),
                    _score_field(f"{code}.distress", label, 5, in_total=False),
                )
            ),
        ),
        scorer=_npiq_scorer,
        measures={"NPI-Q-SEVERITY": "total", "NPI-Q-DISTRESS": "distress_total"},
        source=(
            "Kaufer et al., J Neuropsychiatry Clin Neurosci 2000;12:233–239; "
            "https://www.phenxtoolkit.org/protocols/view/250301"
        ),
    )
)

NPI = _register(
    Instrument(
        code="NPI",
        name=_("Neuropsychiatric Inventory (NPI)"),
        version="1",
        licence=LicenceStatus.LICENSED,
        licence_holder="J. L. Cummings (via Mapi Research Trust for funded use)",
        entry_mode=EntryMode.TOTALS,
        total=ScoreRange(0, 144),
        higher_is_worse=True,
        respondent=Respondent.INFORMANT_INTERVIEW,
        requires_rater_credential=True,
        # Domain score = frequency (1–4) × severity (1–3): only these products exist.
        fields=tuple(
            _score_field(code, label, 12, allowed=(0, 1, 2, 3, 4, 6, 8, 9, 12))
            for code, label in NPI_DOMAINS
        ),
        measures={"NPI": "total"},
        notes="NPI-10 (without sleep and appetite, 0–120) is a separate instrument if a clinic uses it.",
        source=(
            "Cummings et al., Neurology 1994;44:2308–2314; NINDS common data element "
            "(https://commondataelements.ninds.nih.gov)"
        ),
    )
)

ZBI_22 = _register(
    Instrument(
        code="ZBI-22",
        name=_("Zarit Burden Interview, 22 items (caregiver burden)"),
        version="1",
        licence=LicenceStatus.LICENSED,
        licence_holder="Mapi Research Trust (exclusive licensor)",
        entry_mode=EntryMode.TOTALS,
        total=ScoreRange(0, 88),
        higher_is_worse=True,
        respondent=Respondent.CAREGIVER_SELF,
        requires_rater_credential=True,
        measures={"ZBI-22": "total"},
        source=(
            "Zarit, Reever & Bach-Peterson, Gerontologist 1980;20:649–655; licensed by Mapi "
            "Research Trust (http://mapi-trust.org/questionnaires/zbi/)"
        ),
    )
)

ZBI_12 = _register(
    Instrument(
        code="ZBI-12",
        name=_("Zarit Burden Interview, 12-item short form (caregiver burden)"),
        version="1",
        licence=LicenceStatus.LICENSED,
        licence_holder="Mapi Research Trust (exclusive licensor)",
        entry_mode=EntryMode.TOTALS,
        total=ScoreRange(0, 48),
        higher_is_worse=True,
        respondent=Respondent.CAREGIVER_SELF,
        requires_rater_credential=True,
        measures={"ZBI-12": "total"},
        source=(
            "Bédard et al., Gerontologist 2001;41:652–657; licensed by Mapi Research Trust "
            "(http://mapi-trust.org/questionnaires/zbi/)"
        ),
    )
)

# Self-report and caregiver proxy are separate instruments so one can never stand in for the other.
QOL_AD_SELF = _register(
    Instrument(
        code="QOL-AD-SELF",
        name=_("Quality of Life in Alzheimer's Disease (QoL-AD), patient's own rating"),
        version="1",
        licence=LicenceStatus.UNCONFIRMED,
        licence_holder="R. Logsdon, University of Washington (route unconfirmed)",
        entry_mode=EntryMode.TOTALS,
        total=ScoreRange(13, 52),
        higher_is_worse=False,
        respondent=Respondent.PATIENT_SELF_REPORT,
        requires_rater_credential=True,
        measures={"QOL-AD-SELF": "total"},
        source=(
            "Logsdon et al., J Ment Health Aging 1999;5:21–32 "
            "(https://rtcom.umn.edu/database/instruments/qol-ad); licensing route not confirmed"
        ),
    )
)

QOL_AD_PROXY = _register(
    Instrument(
        code="QOL-AD-PROXY",
        name=_(
            "Quality of Life in Alzheimer's Disease (QoL-AD), caregiver's rating of the patient"
        ),
        version="1",
        licence=LicenceStatus.UNCONFIRMED,
        licence_holder="R. Logsdon, University of Washington (route unconfirmed)",
        entry_mode=EntryMode.TOTALS,
        total=ScoreRange(13, 52),
        higher_is_worse=False,
        respondent=Respondent.CAREGIVER_PROXY,
        requires_rater_credential=True,
        measures={"QOL-AD-PROXY": "total"},
        source=(
            "Logsdon et al., Psychosom Med 2002;64:510–519; caregivers rate lower than patients "
            "(https://rtcom.umn.edu/database/instruments/qol-ad); licensing route not confirmed"
        ),
    )
)

ADAS_COG11 = _register(
    Instrument(
        code="ADAS-COG11",
        name=_("ADAS-Cog, 11 items"),
        version="1",
        licence=LicenceStatus.UNCONFIRMED,
        licence_holder="not checked",
        entry_mode=EntryMode.TOTALS,
        total=ScoreRange(
            0, 70, None
        ),  # word recall is a mean over trials, so totals can be fractional
        higher_is_worse=True,
        respondent=Respondent.PATIENT_PERFORMANCE,
        requires_rater_credential=True,
        measures={"ADAS-COG11": "total"},
        source=(
            "Rosen, Mohs & Davis, Am J Psychiatry 1984;141:1356–1364; licence terms not checked"
        ),
    )
)

ADAS_COG13 = _register(
    Instrument(
        code="ADAS-COG13",
        name=_("ADAS-Cog, 13 items"),
        version="1",
        licence=LicenceStatus.UNCONFIRMED,
        licence_holder="not checked",
        entry_mode=EntryMode.TOTALS,
        total=ScoreRange(0, 85, None),
        higher_is_worse=True,
        respondent=Respondent.PATIENT_PERFORMANCE,
        requires_rater_credential=True,
        measures={"ADAS-COG13": "total"},
        source=(
            "Mohs et al., Alzheimer Dis Assoc Disord 1997;11 Suppl 2:S13–S21; licence terms not "
            "checked"
        ),
    )
)

ADCS_ADL = _register(
    Instrument(
        code="ADCS-ADL",
        name=_("ADCS Activities of Daily Living (23 items)"),
        version="1",
        licence=LicenceStatus.UNCONFIRMED,
        licence_holder="Alzheimer's Disease Cooperative Study (not checked)",
        entry_mode=EntryMode.TOTALS,
        total=ScoreRange(0, 78),
        higher_is_worse=False,
        respondent=Respondent.CAREGIVER_PROXY,
        requires_rater_credential=True,
        measures={"ADCS-ADL": "total"},
        source=(
            "Galasko et al., Alzheimer Dis Assoc Disord 1997;11 Suppl 2:S33–S39; licence terms not "
            "checked"
        ),
    )
)

ADCS_MCI_ADL = _register(
    Instrument(
        code="ADCS-MCI-ADL",
        name=_("ADCS-MCI Activities of Daily Living (18 items)"),
        version="1",
        licence=LicenceStatus.UNCONFIRMED,
        licence_holder="Alzheimer's Disease Cooperative Study (not checked)",
        entry_mode=EntryMode.TOTALS,
        total=ScoreRange(0, 53),  # [UNCERTAIN] one source says 0–57; edit this data once confirmed
        higher_is_worse=False,
        respondent=Respondent.CAREGIVER_PROXY,
        requires_rater_credential=True,
        measures={"ADCS-MCI-ADL": "total"},
        notes="Published maximum differs between sources (53 or 57); confirm against the clinic's form.",
        source=(
            "Galasko et al., Alzheimer Dis Assoc Disord 2006;20:S152–S169 (ADCS-MCI-ADL); "
            "maximum score not confirmed"
        ),
    )
)

FAST = _register(
    Instrument(
        code="FAST",
        name=_("Functional Assessment Staging (FAST)"),
        version="1",
        licence=LicenceStatus.UNCONFIRMED,
        licence_holder="B. Reisberg (© 1984; permission terms unconfirmed)",
        entry_mode=EntryMode.TOTALS,
        total=ScoreRange(1, 16),
        higher_is_worse=True,
        respondent=Respondent.CLINICIAN,
        requires_rater_credential=False,
        fields=(
            Field("stage", _("FAST stage"), FieldKind.CHOICE, required=True, choices=FAST_STAGES),
        ),
        scorer=_fast_scorer,
        measures={"FAST": "total"},
        notes="Stage codes only; ordinal rank 1–16 is for plotting, not arithmetic.",
        source=(
            "Reisberg, Psychopharmacol Bull 1988;24:653–659; © 1984 B. Reisberg, stage codes only"
        ),
    )
)

CAREGIVER_DIARY = _register(
    Instrument(
        code="DIARY",
        name=_("Clinic caregiver diary (not validated)"),
        version="1",
        licence=LicenceStatus.FREE,
        licence_holder="the clinic (own wording)",
        entry_mode=EntryMode.ITEMS,
        total=ScoreRange(0, 15),
        higher_is_worse=True,
        respondent=Respondent.CAREGIVER_PROXY,
        requires_rater_credential=False,
        validated=False,
        fields=(
            Field(
                "sleep",
                _("Trouble sleeping at night this week"),
                FieldKind.SCORE,
                _DIARY_ITEM,
                required=True,
            ),
            Field(
                "agitation",
                _("Agitation or restlessness this week"),
                FieldKind.SCORE,
                _DIARY_ITEM,
                required=True,
            ),
            Field(
                "evening_confusion",
                _("Confusion in the late afternoon or evening this week"),
                FieldKind.SCORE,
                _DIARY_ITEM,
                required=True,
            ),
            Field(
                "recognition",
                _("Difficulty recognising family members this week"),
                FieldKind.SCORE,
                _DIARY_ITEM,
                required=True,
            ),
            Field(
                "engagement",
                _("Withdrawn or not taking part in daily life this week"),
                FieldKind.SCORE,
                _DIARY_ITEM,
                required=True,
            ),
        ),
        measures={"DIARY": "total"},
        notes="Each item: 0 not at all, 1 a little, 2 quite a bit, 3 a lot. Not a validated measure.",
        source=(
            "Defined by the clinic; the changes it tracks have not been shown in controlled trials"
        ),
    )
)

DIARY_ANSWER_LABELS: dict[int, Any] = {
    0: _("Not at all"),
    1: _("A little"),
    2: _("Quite a bit"),
    3: _("A lot"),
}


def get_instrument(code: str) -> Instrument:
    """Look up an instrument by code, refusing unknown codes with a stable error."""
    try:
        return INSTRUMENTS[code]
    except KeyError:
        raise NotFound(_("Unknown instrument."), code="outcomes.unknown_instrument") from None


@dataclass(frozen=True)
class MeasureInfo:
    """What a trajectory needs to know about one plotted measure."""

    code: str
    instrument: Instrument
    field: str
    range: ScoreRange
    higher_is_worse: bool


def measure_info(measure: str) -> MeasureInfo:
    """Resolve a measure code (e.g. CDR-SB) to its instrument, range and direction of worse."""
    for inst in INSTRUMENTS.values():
        if measure in inst.measures:
            fld = inst.measures[measure]
            if fld == "total":
                rng = inst.total
            else:
                spec = inst.get_field(fld)
                assert spec is not None and spec.range is not None
                rng = spec.range
            return MeasureInfo(measure, inst, fld, rng, inst.higher_is_worse)
    raise NotFound(_("Unknown measure."), code="outcomes.unknown_measure")


def credential_issues(
    *, instrument: Instrument, rater: RaterCredential | None, assessed_on: date | None
) -> list[Issue]:
    """A licensed instrument needs a recorded rater licence or certification valid on the day."""
    if not instrument.requires_rater_credential:
        return []
    if rater is None or not rater.reference.strip():
        return [
            Issue(
                "rater",
                "rater_credential_required",
                str(
                    _(
                        "%(name)s may only be entered by a rater whose licence or certification is recorded."
                    )
                )
                % {"name": instrument.name},
            )
        ]
    if rater.expires_on is not None and assessed_on is not None and assessed_on > rater.expires_on:
        return [
            Issue(
                "rater",
                "rater_credential_expired",
                str(
                    _(
                        "The rater's licence or certification expired on %(date)s, before this assessment."
                    )
                )
                % {"date": rater.expires_on.isoformat()},
            )
        ]
    return []


def validate_and_score(
    *,
    instrument: Instrument | str,
    values: Mapping[str, Any],
    rater: RaterCredential | None = None,
    assessed_on: date | None = None,
    check_rater: bool = True,
) -> Score:
    """Check an entry against the instrument's rules and compute its total; every problem is listed."""
    inst = get_instrument(instrument) if isinstance(instrument, str) else instrument
    scorer = inst.scorer or _additive_scorer
    score = scorer(inst, values)
    if score.total is not None and not score.errors:
        issue = _range_issue("total", _("The total"), inst.total, score.total)
        if issue:
            score.errors.append(issue)
    if check_rater:
        score.errors.extend(
            credential_issues(instrument=inst, rater=rater, assessed_on=assessed_on)
        )
    if score.errors:
        score.total = None
        score.subscores = {}
        return score
    for measure, fld in inst.measures.items():
        value = score.total if fld == "total" else score.subscores.get(fld)
        if value is not None:
            score.measures[measure] = value
    return score
