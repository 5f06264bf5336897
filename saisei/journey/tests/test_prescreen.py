"""Pre-screening: the stage names its scheme, missing answers never pass, and reasons are always given."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saisei.journey._errors import JourneyError
from saisei.journey.prescreen import (
    DEFAULT_CONTRAINDICATIONS,
    DEFAULT_INFECTION_TESTS,
    DEFAULT_SCHEMES,
    ContraindicationRule,
    Criteria,
    PrescreenAnswers,
    prescreen,
    stage_from_scores,
)

ALL_CLEAR = {rule.code: False for rule in DEFAULT_CONTRAINDICATIONS}
ALL_NEGATIVE = dict.fromkeys(DEFAULT_INFECTION_TESTS, "negative")


def _answers(**kw):
    base = {
        "diagnosis_confirmed": True,
        "diagnosis_basis": "amyloid_pet",
        "scores": {"cdr_global": "1", "mmse": 22},
        "can_consent": True,
        "contraindications": ALL_CLEAR,
        "infection_tests": ALL_NEGATIVE,
    }
    base.update(kw)
    return PrescreenAnswers(**base)


def _codes(result):
    return [r.code for r in result.reasons]


@pytest.mark.parametrize(
    ("scores", "scheme", "stage"),
    [
        ({"cdr_global": "0.5"}, "cdr_global", "mci"),
        ({"cdr_global": 2}, "cdr_global", "moderate"),
        ({"cdr_sb": "4.0"}, "cdr_sb_obryant_2008", "mci"),
        ({"cdr_sb": "4.5"}, "cdr_sb_obryant_2008", "mild"),
        ({"cdr_sb": "9.5"}, "cdr_sb_obryant_2008", "moderate"),
        ({"cdr_sb": "16"}, "cdr_sb_obryant_2008", "severe"),
        ({"fast": "3"}, "fast_reisberg", "mci"),
        ({"fast": "6c"}, "fast_reisberg", "moderately_severe"),
        ({"mmse": 26}, "mmse_nice", "mild"),
        ({"mmse": 21}, "mmse_nice", "mild"),
        ({"mmse": 20}, "mmse_nice", "moderate"),
        ({"mmse": 12}, "mmse_nice", "moderately_severe"),
        ({"mmse": 9}, "mmse_nice", "severe"),
        ({"mmse": 28}, "mmse_nice", "above_mild_range"),
    ],
)
def test_stage_cut_offs_follow_the_named_scheme(scores, scheme, stage):
    result = stage_from_scores(scores=scores)
    assert result is not None
    assert (result.scheme, result.stage) == (scheme, stage)
    assert result.source and result.scheme_version


def test_cdr_outranks_mmse_and_the_other_result_is_kept():
    result = stage_from_scores(scores={"mmse": 18, "cdr_global": "1"})
    assert result.scheme == "cdr_global" and result.stage == "mild"
    assert [(a.scheme, a.stage) for a in result.alternatives] == [("mmse_nice", "moderate")]
    assert result.score == "1"  # the raw score is kept as entered


def test_scheme_order_is_configurable():
    result = stage_from_scores(
        scores={"mmse": 19, "cdr_global": "1"}, scheme_order=("mmse_common", "cdr_global")
    )
    assert result.scheme == "mmse_common" and result.stage == "moderate"


@pytest.mark.parametrize(
    "scores",
    [
        {"cdr_global": "1.5"},
        {"cdr_sb": "4.25"},
        {"cdr_sb": 19},
        {"mmse": 31},
        {"fast": "6f"},
        {"fast": "8"},
    ],
)
def test_impossible_scores_are_refused(scores):
    with pytest.raises(JourneyError) as exc:
        stage_from_scores(scores=scores)
    assert exc.value.code == "prescreen.invalid_score"


def test_no_scores_means_no_stage():
    assert stage_from_scores(scores={}) is None


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 36).map(lambda n: Decimal(n) / 2))
def test_cdr_sb_bands_are_monotonic(value):
    order = ["unimpaired", "mci", "mild", "moderate", "severe"]
    here = stage_from_scores(scores={"cdr_sb": value}).stage
    if value < 18:
        nxt = stage_from_scores(scores={"cdr_sb": value + Decimal("0.5")}).stage
        assert order.index(nxt) >= order.index(here)


def test_clear_application_is_eligible_with_reasons_and_physician_note():
    result = prescreen(criteria=Criteria(), answers=_answers())
    assert result.outcome == "eligible"
    assert result.reasons
    assert result.reasons[-1].code == "physician_decides"
    stage_reason = next(r for r in result.reasons if r.code.startswith("stage_"))
    assert "CDR global score" in stage_reason.message.render(language="en")
    assert result.stage.scheme == "cdr_global"


@pytest.mark.parametrize(
    ("change", "outcome", "code"),
    [
        (
            {"contraindications": {**ALL_CLEAR, "active_malignancy": True}},
            "not_eligible",
            "contraindication.active_malignancy",
        ),
        (
            {"contraindications": {**ALL_CLEAR, "pregnancy": True}},
            "not_eligible",
            "contraindication.pregnancy",
        ),
        (
            {"contraindications": {**ALL_CLEAR, "anticoagulation_cannot_pause": True}},
            "not_eligible",
            "contraindication.anticoagulation_cannot_pause",
        ),
        (
            {"contraindications": {**ALL_CLEAR, "active_infection": True}},
            "review",
            "contraindication.active_infection",
        ),
        (
            {"contraindications": {**ALL_CLEAR, "severe_cardiopulmonary_disease": True}},
            "review",
            "contraindication.severe_cardiopulmonary_disease",
        ),
        ({"scores": {"cdr_global": "3"}}, "not_eligible", "stage_outside_plan"),
        ({"scores": {"mmse": 12}}, "review", "stage_moderately_severe"),
        ({"scores": {}}, "review", "stage_unknown"),
        ({"diagnosis_confirmed": None}, "review", "diagnosis_unknown"),
        ({"diagnosis_confirmed": False}, "not_eligible", "diagnosis_unconfirmed"),
        ({"diagnosis_basis": "clinical"}, "review", "diagnosis_clinical_only"),
        ({"can_consent": None}, "review", "consent_unknown"),
        ({"can_consent": False, "legal_proxy": True}, "review", "consent_proxy"),
        ({"can_consent": False, "legal_proxy": False}, "not_eligible", "consent_impossible"),
        (
            {"infection_tests": {**ALL_NEGATIVE, "hbv": "positive"}},
            "not_eligible",
            "infection_positive.hbv",
        ),
    ],
)
def test_findings_set_the_outcome_and_are_explained(change, outcome, code):
    result = prescreen(criteria=Criteria(), answers=_answers(**change))
    assert result.outcome == outcome
    assert code in _codes(result)


def test_unanswered_contraindication_never_counts_as_clear():
    answers = _answers(contraindications={k: v for k, v in ALL_CLEAR.items() if k != "pregnancy"})
    result = prescreen(criteria=Criteria(), answers=answers)
    assert result.outcome == "review"
    assert "contraindication_unknown.pregnancy" in _codes(result)


def test_pending_infection_tests_are_listed_for_before_harvest_without_blocking():
    result = prescreen(criteria=Criteria(), answers=_answers(infection_tests={"hbv": "negative"}))
    assert result.outcome == "eligible"
    note = next(r for r in result.reasons if r.code == "infection_tests_before_harvest")
    text = note.message.render(language="en")
    assert "hepatitis C" in text and "HIV" in text and "hepatitis B" not in text


def test_schemes_that_disagree_across_the_plan_boundary_need_review():
    result = prescreen(criteria=Criteria(), answers=_answers(scores={"cdr_global": "2", "mmse": 8}))
    assert result.outcome == "review"
    assert "stage_schemes_disagree" in _codes(result)


def test_criteria_are_configurable_per_plan_and_round_trip_through_json():
    criteria = Criteria(
        plan_code="PB3170023",
        eligible_stages=("mild",),
        review_stages=(),
        contraindications=(ContraindicationRule("dialysis", "on dialysis", "exclude"),),
        required_infection_tests=("hbv",),
        positive_infection_test="review",
        min_age=50,
        max_age=85,
    )
    restored = Criteria.from_dict(json.loads(json.dumps(criteria.to_dict())))
    assert restored == criteria
    assert Criteria.from_dict(json.loads(json.dumps(Criteria().to_dict()))) == Criteria()
    answers = _answers(
        scores={"cdr_global": "0.5"},
        contraindications={"dialysis": False},
        infection_tests={"hbv": "positive"},
        age=90,
    )
    result = prescreen(criteria=restored, answers=answers)
    assert result.outcome == "not_eligible"
    assert {"stage_outside_plan", "infection_positive.hbv", "age_outside_plan"} <= set(
        _codes(result)
    )
    assert (
        next(r for r in result.reasons if r.code == "infection_positive.hbv").severity == "review"
    )


def test_result_serialises_for_the_api():
    data = prescreen(criteria=Criteria(), answers=_answers()).as_dict(language="en")
    json.dumps(data)
    assert data["outcome"] == "eligible"
    assert all({"code", "message", "severity"} <= set(r) for r in data["reasons"])
    assert data["stage"]["scheme"] == "cdr_global"


def test_every_default_scheme_covers_its_whole_range_without_overlap():
    for scheme in DEFAULT_SCHEMES.values():
        bands = sorted(scheme.bands, key=lambda b: b.low)
        for a, b in itertools.pairwise(bands):
            assert a.high < b.low
