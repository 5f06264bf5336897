"""Structured pre-screening for a treatment plan: a suggestion with reasons, never the decision.

The physician decides and signs; this module only sorts an application into eligible, physician
review needed or not eligible, and says why. Criteria are data per provision plan (its inclusion
and exclusion criteria), with JSON-serialisable defaults. Staging cut-offs follow outcomes facts §2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from django.utils.translation import gettext_noop

from ._errors import JourneyError
from ._messages import Label, Message

Severity = Literal["info", "review", "exclude"]
Outcome = Literal["eligible", "review", "not_eligible"]

STAGES: tuple[str, ...] = (
    "unimpaired",
    "mci",
    "mild",
    "moderate",
    "moderately_severe",
    "severe",
    "above_mild_range",
)
STAGE_LABELS: dict[str, Label] = {
    "unimpaired": Label(gettext_noop("no cognitive impairment")),
    "mci": Label(gettext_noop("very mild or questionable impairment (MCI range)")),
    "mild": Label(gettext_noop("mild dementia")),
    "moderate": Label(gettext_noop("moderate dementia")),
    "moderately_severe": Label(gettext_noop("moderately severe dementia")),
    "severe": Label(gettext_noop("severe dementia")),
    "above_mild_range": Label(gettext_noop("above the mild-dementia range (cannot stage further)")),
}
# How the diagnosis was confirmed, and the tests a stage comes from, as the reader says them.
BASIS_LABELS: dict[str, Label] = {
    "amyloid_pet": Label(gettext_noop("amyloid PET")),
    "csf": Label(gettext_noop("a spinal fluid test")),
    "plasma_ptau217": Label(gettext_noop("a blood test (p-tau217)")),
    "clinical": Label(gettext_noop("clinical examination only")),
}
INSTRUMENT_LABELS: dict[str, Label] = {
    "cdr_global": Label(gettext_noop("CDR global score")),
    "cdr_sb": Label(gettext_noop("CDR sum of boxes")),
    "fast": Label(gettext_noop("FAST stage")),
    "mmse": Label(gettext_noop("MMSE score")),
}


def _basis_label(basis: str) -> Label | str:
    return BASIS_LABELS.get(basis, basis)


def _instrument_label(instrument: str) -> Label | str:
    return INSTRUMENT_LABELS.get(instrument, instrument)


@dataclass(frozen=True)
class Band:
    """Scores from `low` to `high` (both included) map to `stage`."""

    low: Decimal
    high: Decimal
    stage: str


@dataclass(frozen=True)
class StagingScheme:
    """A named, versioned way to turn one instrument's score into a stage, with its source."""

    id: str
    instrument: str
    version: str
    name: str
    bands: tuple[Band, ...]
    step: Decimal
    source: str

    def stage_for(self, score: Decimal) -> str:
        low, high = self.bands[0].low, self.bands[-1].high
        if score < min(low, high) or score > max(low, high) or (score - low) % self.step:
            raise JourneyError(
                "prescreen.invalid_score",
                Message(
                    "prescreen.invalid_score",
                    gettext_noop("%(score)s is not a valid %(instrument)s score."),
                    {"score": str(score), "instrument": self.instrument},
                ),
                {self.instrument: str(score)},
            )
        for band in self.bands:
            if band.low <= score <= band.high:
                return band.stage
        raise JourneyError(  # a gap between bands, e.g. CDR-SB 4.25 that no rater can record
            "prescreen.invalid_score",
            Message(
                "prescreen.invalid_score",
                gettext_noop("%(score)s is not a valid %(instrument)s score."),
                {"score": str(score), "instrument": self.instrument},
            ),
            {self.instrument: str(score)},
        )


def _bands(*rows: tuple[str, str, str]) -> tuple[Band, ...]:
    return tuple(Band(Decimal(lo), Decimal(hi), stage) for lo, hi, stage in rows)


DEFAULT_SCHEMES: dict[str, StagingScheme] = {
    s.id: s
    for s in (
        StagingScheme(
            id="cdr_global",
            instrument="cdr_global",
            version="1",
            name="CDR global score",
            bands=_bands(
                ("0", "0", "unimpaired"),
                ("0.5", "0.5", "mci"),
                ("1", "1", "mild"),
                ("2", "2", "moderate"),
                ("3", "3", "severe"),
            ),
            step=Decimal("0.5"),
            source="Morris, Neurology 1993;43:2412–2414; Knight ADRC CDR scoring table "
            "(https://knightadrc.wustl.edu/professionals-clinicians/cdr-dementia-staging-instrument/cdr-scoring-table/); global score entered by a licensed rater, never computed here",
        ),
        StagingScheme(
            id="cdr_sb_obryant_2008",
            instrument="cdr_sb",
            version="2008",
            name="CDR sum of boxes, O'Bryant 2008 bands",
            bands=_bands(
                ("0", "0", "unimpaired"),
                ("0.5", "4.0", "mci"),
                ("4.5", "9.0", "mild"),
                ("9.5", "15.5", "moderate"),
                ("16.0", "18.0", "severe"),
            ),
            step=Decimal("0.5"),
            source="O'Bryant et al., Arch Neurol 2008;65:1091–1095, cross-validated in NACC "
            "(O'Bryant et al., Arch Neurol 2010;67:746–749)",
        ),
        StagingScheme(
            id="fast_reisberg",
            instrument="fast",
            version="1984",
            name="FAST (Reisberg) main stage",
            bands=_bands(
                ("1", "2", "unimpaired"),
                ("3", "3", "mci"),
                ("4", "4", "mild"),
                ("5", "5", "moderate"),
                ("6", "6", "moderately_severe"),
                ("7", "7", "severe"),
            ),
            step=Decimal("1"),
            source="FAST stage codes 1–7f; 3 ≈ MCI, 4 mild, 5 moderate, 6 moderately severe, "
            "7 severe: Reisberg, Psychopharmacol Bull 1988;24:653–659",
        ),
        StagingScheme(
            id="mmse_nice",
            instrument="mmse",
            version="TA217",
            name="MMSE severity bands used by NICE TA111/TA217",
            bands=_bands(
                ("0", "9", "severe"),
                ("10", "14", "moderately_severe"),
                ("15", "20", "moderate"),
                ("21", "26", "mild"),
                ("27", "30", "above_mild_range"),
            ),
            step=Decimal("1"),
            source="NICE TA111/TA217 usage: mild 21–26, moderate 10–20 (10–14 moderately "
            "severe), severe <10 (NICE technology appraisal TA217, https://www.nice.org.uk/guidance/ta217); "
            "MMSE alone stages poorly",
        ),
        StagingScheme(
            id="mmse_common",
            instrument="mmse",
            version="1",
            name="MMSE common four-band scheme",
            bands=_bands(
                ("0", "10", "severe"),
                ("11", "19", "moderate"),
                ("20", "26", "mild"),
                ("27", "30", "unimpaired"),
            ),
            step=Decimal("1"),
            source="normal 27–30, mild 20–26, moderate 11–19, severe ≤10, a common clinical scheme "
            "(http://www.medfriendly.com/mini-mental-state-examination.html); schemes disagree, so "
            "the scheme is always stored with the stage",
        ),
    )
}
DEFAULT_SCHEME_ORDER: tuple[str, ...] = (
    "cdr_global",
    "cdr_sb_obryant_2008",
    "fast_reisberg",
    "mmse_nice",
)
FAST_SUBSTAGES = {"6": "abcde", "7": "abcdef"}


@dataclass(frozen=True)
class StageResult:
    """A stage with the scheme that produced it and the raw score it came from (never overwritten)."""

    scheme: str
    scheme_version: str
    scheme_name: str
    stage: str
    instrument: str
    score: str
    source: str
    alternatives: tuple[StageResult, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["alternatives"] = [a.as_dict() for a in self.alternatives]
        return data


def _score(instrument: str, raw: Any) -> Decimal:
    if instrument == "fast":
        code = str(raw).strip().lower()
        main, sub = code[:1], code[1:]
        if main not in "1234567" or not main or (sub and sub not in FAST_SUBSTAGES.get(main, "")):
            raise JourneyError(
                "prescreen.invalid_score",
                Message(
                    "prescreen.invalid_score",
                    gettext_noop("%(score)s is not a valid %(instrument)s score."),
                    {"score": str(raw), "instrument": "FAST"},
                ),
                {"fast": str(raw)},
            )
        return Decimal(main)
    if isinstance(raw, float):
        raw = repr(raw)
    try:
        return Decimal(str(raw))
    except InvalidOperation as exc:
        raise JourneyError(
            "prescreen.invalid_score",
            Message(
                "prescreen.invalid_score",
                gettext_noop("%(score)s is not a valid %(instrument)s score."),
                {"score": str(raw), "instrument": instrument},
            ),
            {instrument: str(raw)},
        ) from exc


def stage_from_scores(
    *,
    scores: Mapping[str, Any],
    scheme_order: Sequence[str] = DEFAULT_SCHEME_ORDER,
    schemes: Mapping[str, StagingScheme] | None = None,
) -> StageResult | None:
    """Stage from recorded scores by the first scheme in `scheme_order` whose instrument was scored.

    `scores` keys are instrument ids: cdr_global, cdr_sb, fast, mmse. The other schemes' results
    come back as `alternatives`, so a reviewer sees when schemes disagree. None if nothing scored.
    """
    table = DEFAULT_SCHEMES if schemes is None else schemes
    results: list[StageResult] = []
    for scheme_id in scheme_order:
        scheme = table[scheme_id]
        raw = scores.get(scheme.instrument)
        if raw is None or raw == "":
            continue
        stage = scheme.stage_for(_score(scheme.instrument, raw))
        results.append(
            StageResult(
                scheme=scheme.id,
                scheme_version=scheme.version,
                scheme_name=scheme.name,
                stage=stage,
                instrument=scheme.instrument,
                score=str(raw),
                source=scheme.source,
            )
        )
    if not results:
        return None
    first = results[0]
    return StageResult(**{**asdict(first), "alternatives": tuple(results[1:])})


# --- criteria --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContraindicationRule:
    """One contraindication the plan screens for, and what a "yes" does to the outcome."""

    code: str
    label: str
    effect: Severity = "exclude"
    source: str = "provision plan exclusion criteria (configurable per plan)"


DEFAULT_CONTRAINDICATIONS: tuple[ContraindicationRule, ...] = (
    ContraindicationRule("active_malignancy", gettext_noop("active cancer"), "exclude"),
    ContraindicationRule(
        "active_infection", gettext_noop("an active infection needing treatment"), "review"
    ),
    ContraindicationRule(
        "anticoagulation_cannot_pause",
        gettext_noop("blood thinners that cannot be paused for the fat harvest"),
        "exclude",
    ),
    ContraindicationRule("pregnancy", gettext_noop("pregnancy"), "exclude"),
    ContraindicationRule(
        "severe_cardiopulmonary_disease", gettext_noop("severe heart or lung disease"), "review"
    ),
)

# Which viruses are screened differs by clinic; the facts confirm viral screening before harvest
# and exclusion on a positive result (manufacturing facts §4.2, nagitsuji) but not the exact list.
DEFAULT_INFECTION_TESTS: tuple[str, ...] = ("hbv", "hcv", "hiv", "syphilis", "htlv1")
INFECTION_TEST_LABELS: dict[str, str] = {
    "hbv": gettext_noop("hepatitis B"),
    "hcv": gettext_noop("hepatitis C"),
    "hiv": gettext_noop("HIV"),
    "syphilis": gettext_noop("syphilis"),
    "htlv1": gettext_noop("HTLV-1"),
}


@dataclass(frozen=True)
class Criteria:
    """Eligibility criteria of one plan. Store `to_dict()` as JSON; load with `from_dict()`."""

    plan_code: str = ""
    require_confirmed_diagnosis: bool = True
    unconfirmed_diagnosis: Severity = "exclude"
    accepted_diagnosis_bases: tuple[str, ...] = ("amyloid_pet", "csf", "plasma_ptau217", "clinical")
    clinical_only_diagnosis: Severity = "review"
    eligible_stages: tuple[str, ...] = ("mci", "mild", "moderate")
    review_stages: tuple[str, ...] = ("unimpaired", "moderately_severe", "above_mild_range")
    staging_scheme_order: tuple[str, ...] = DEFAULT_SCHEME_ORDER
    proxy_consent: Severity = "review"
    contraindications: tuple[ContraindicationRule, ...] = DEFAULT_CONTRAINDICATIONS
    required_infection_tests: tuple[str, ...] = DEFAULT_INFECTION_TESTS
    positive_infection_test: Severity = "exclude"
    min_age: int | None = None
    max_age: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, tuple):
                data[key] = list(value)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Criteria:
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key == "contraindications":
                values[key] = tuple(ContraindicationRule(**rule) for rule in value)
            elif isinstance(value, list):
                values[key] = tuple(value)
            else:
                values[key] = value
        return cls(**values)


@dataclass(frozen=True)
class PrescreenAnswers:
    """What the family and the referring doctor reported; None means not answered."""

    diagnosis_confirmed: bool | None = None
    diagnosis_basis: str | None = None
    scores: Mapping[str, Any] = field(default_factory=dict)
    can_consent: bool | None = None
    legal_proxy: bool | None = None
    contraindications: Mapping[str, bool | None] = field(default_factory=dict)
    infection_tests: Mapping[str, str] = field(default_factory=dict)
    age: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PrescreenAnswers:
        return cls(**dict(data))


@dataclass(frozen=True)
class Reason:
    """One finding with its weight: info, needs physician review, or excludes."""

    code: str
    message: Message
    severity: Severity

    def as_dict(self, *, language: str | None = None) -> dict[str, Any]:
        data = self.message.as_dict(language=language)
        return {
            "code": self.code,
            "message": data["message"],
            "severity": self.severity,
            "params": data["params"],
        }


@dataclass(frozen=True)
class PrescreenResult:
    outcome: Outcome
    reasons: tuple[Reason, ...]
    stage: StageResult | None

    def as_dict(self, *, language: str | None = None) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "reasons": [r.as_dict(language=language) for r in self.reasons],
            "stage": self.stage.as_dict() if self.stage else None,
        }


def _reason(code: str, severity: Severity, msgid: str, **params: Any) -> Reason:
    return Reason(code, Message(code, msgid, params), severity)


def _diagnosis(criteria: Criteria, answers: PrescreenAnswers) -> list[Reason]:
    if not criteria.require_confirmed_diagnosis:
        return []
    if answers.diagnosis_confirmed is None:
        return [
            _reason(
                "diagnosis_unknown",
                "review",
                gettext_noop(
                    "We do not yet know whether the diagnosis of Alzheimer's disease is confirmed."
                ),
            )
        ]
    if not answers.diagnosis_confirmed:
        return [
            _reason(
                "diagnosis_unconfirmed",
                criteria.unconfirmed_diagnosis,
                gettext_noop(
                    "The diagnosis is not confirmed yet. The plan needs a confirmed diagnosis."
                ),
            )
        ]
    basis = answers.diagnosis_basis or ""
    if basis not in criteria.accepted_diagnosis_bases:
        return [
            _reason(
                "diagnosis_basis_not_accepted",
                "review",
                gettext_noop(
                    "The diagnosis was confirmed by a method this plan does not list (%(basis)s); the "
                    "physician checks it."
                ),
                basis=_basis_label(basis) if basis else "-",
            )
        ]
    if basis == "clinical":
        return [
            _reason(
                "diagnosis_clinical_only",
                criteria.clinical_only_diagnosis,
                gettext_noop(
                    "The diagnosis is clinical, without a biomarker test (amyloid PET, spinal fluid or "
                    "blood test)."
                ),
            )
        ]
    return [
        _reason(
            "diagnosis_confirmed",
            "info",
            gettext_noop("The diagnosis is confirmed by %(basis)s."),
            basis=_basis_label(basis),
        )
    ]


def _stage(
    criteria: Criteria, answers: PrescreenAnswers
) -> tuple[StageResult | None, list[Reason]]:
    stage = stage_from_scores(scores=answers.scores, scheme_order=criteria.staging_scheme_order)
    if stage is None:
        return None, [
            _reason(
                "stage_unknown",
                "review",
                gettext_noop(
                    "No test score was recorded, so the stage of the illness is not known."
                ),
            )
        ]
    reasons: list[Reason] = []

    def effect(value: str) -> Severity:
        if value in criteria.eligible_stages:
            return "info"
        return "review" if value in criteria.review_stages else "exclude"

    severity = effect(stage.stage)
    reasons.append(
        _reason(
            f"stage_{stage.stage}",
            severity,
            gettext_noop(
                'Stage: %(stage)s, from %(instrument)s %(score)s using the scheme "%(scheme)s".'
            ),
            stage=STAGE_LABELS[stage.stage],
            instrument=_instrument_label(stage.instrument),
            score=stage.score,
            scheme=stage.scheme_name,
        )
    )
    if severity == "exclude":
        reasons.append(
            _reason(
                "stage_outside_plan",
                "exclude",
                gettext_noop("This plan is for people at these stages: %(stages)s."),
                stages=tuple(STAGE_LABELS.get(s, Label(s)) for s in criteria.eligible_stages),
            )
        )
    for alt in stage.alternatives:
        if (effect(alt.stage) == "info") != (severity == "info"):
            reasons.append(
                _reason(
                    "stage_schemes_disagree",
                    "review",
                    gettext_noop(
                        "Another score gives a different stage (%(stage)s from %(instrument)s %(score)s); "
                        "the physician decides which applies."
                    ),
                    stage=STAGE_LABELS[alt.stage],
                    instrument=_instrument_label(alt.instrument),
                    score=alt.score,
                )
            )
    return stage, reasons


def _consent(criteria: Criteria, answers: PrescreenAnswers) -> list[Reason]:
    if answers.can_consent:
        return [
            _reason(
                "consent_self", "info", gettext_noop("The patient can give consent themselves.")
            )
        ]
    if answers.can_consent is None:
        return [
            _reason(
                "consent_unknown",
                "review",
                gettext_noop(
                    "We do not yet know whether the patient can give consent; the physician assesses this."
                ),
            )
        ]
    if answers.legal_proxy:
        return [
            _reason(
                "consent_proxy",
                criteria.proxy_consent,
                gettext_noop(
                    "The patient cannot consent alone; a legal representative would consent. The "
                    "physician checks the representative's authority."
                ),
            )
        ]
    if answers.legal_proxy is None:
        return [
            _reason(
                "consent_proxy_unknown",
                "review",
                gettext_noop(
                    "The patient cannot consent alone and we do not yet know of a legal representative."
                ),
            )
        ]
    return [
        _reason(
            "consent_impossible",
            "exclude",
            gettext_noop(
                "The patient cannot consent and no legal representative can consent for them."
            ),
        )
    ]


def _contraindications(criteria: Criteria, answers: PrescreenAnswers) -> list[Reason]:
    out: list[Reason] = []
    for rule in criteria.contraindications:
        answer = answers.contraindications.get(rule.code)
        if answer is None:
            out.append(
                _reason(
                    f"contraindication_unknown.{rule.code}",
                    "review",
                    gettext_noop("Not answered yet: %(item)s."),
                    item=Label(rule.label),
                )
            )
        elif answer:
            out.append(
                _reason(
                    f"contraindication.{rule.code}",
                    rule.effect,
                    gettext_noop("Reported: %(item)s."),
                    item=Label(rule.label),
                )
            )
    return out


def _infection_tests(criteria: Criteria, answers: PrescreenAnswers) -> list[Reason]:
    out: list[Reason] = []
    pending: list[str] = []
    for test in criteria.required_infection_tests:
        result = (answers.infection_tests.get(test) or "").lower()
        label = Label(INFECTION_TEST_LABELS.get(test, test))
        if result == "positive":
            out.append(
                _reason(
                    f"infection_positive.{test}",
                    criteria.positive_infection_test,
                    gettext_noop("The %(test)s test is positive."),
                    test=label,
                )
            )
        elif result != "negative":
            pending.append(test)
    if pending:
        out.append(
            _reason(
                "infection_tests_before_harvest",
                "info",
                gettext_noop(
                    "Infection blood tests still needed before the harvest: %(tests)s. The clinic does "
                    "them itself, and their fee is usually not refunded even if the patient then "
                    "cannot be treated."
                ),
                tests=tuple(Label(INFECTION_TEST_LABELS.get(t, t)) for t in pending),
            )
        )
    return out


def _age(criteria: Criteria, answers: PrescreenAnswers) -> list[Reason]:
    if criteria.min_age is None and criteria.max_age is None:
        return []
    if answers.age is None:
        return [_reason("age_unknown", "review", gettext_noop("The patient's age is not known."))]
    if (criteria.min_age is not None and answers.age < criteria.min_age) or (
        criteria.max_age is not None and answers.age > criteria.max_age
    ):
        return [
            _reason(
                "age_outside_plan",
                "exclude",
                gettext_noop("Age %(age)s is outside the plan's range."),
                age=answers.age,
            )
        ]
    return []


def prescreen(*, criteria: Criteria, answers: PrescreenAnswers) -> PrescreenResult:
    """Sort an application by the plan's criteria, always giving reasons; the physician decides.

    Any excluding finding makes it "not_eligible", else any open question "review", else
    "eligible". A missing answer never counts as a pass.
    """
    stage, stage_reasons = _stage(criteria, answers)
    reasons = (
        _diagnosis(criteria, answers)
        + stage_reasons
        + _consent(criteria, answers)
        + _contraindications(criteria, answers)
        + _infection_tests(criteria, answers)
        + _age(criteria, answers)
    )
    severities = {r.severity for r in reasons}
    outcome: Outcome = (
        "not_eligible"
        if "exclude" in severities
        else "review"
        if "review" in severities
        else "eligible"
    )
    reasons.append(
        _reason(
            "physician_decides",
            "info",
            gettext_noop(
                "This is a pre-screen only. A physician reviews the application, decides and signs."
            ),
        )
    )
    return PrescreenResult(outcome=outcome, reasons=tuple(reasons), stage=stage)
