"""Scoring and range validation for every instrument in the catalogue."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saisei.core.errors import NotFound, ValidationFailed
from saisei.outcomes.instruments import (
    FAST_STAGES,
    INSTRUMENTS,
    NPI_DOMAINS,
    EntryMode,
    LicenceStatus,
    RaterCredential,
    get_instrument,
    measure_info,
    validate_and_score,
)

RATER = RaterCredential(
    rater_id="dr-sato", kind="licence", reference="CLINIC-LIC-001", expires_on=date(2027, 3, 31)
)


def score(code, values, **kw):
    return validate_and_score(
        instrument=code, values=values, rater=RATER, assessed_on=date(2026, 6, 1), **kw
    )


def codes(result):
    return {(i.field, i.code) for i in result.errors}


CDR_BOXES = {
    "memory": 1,
    "orientation": 1,
    "judgement": 0.5,
    "community": 0.5,
    "home_hobbies": 0.5,
    "personal_care": 0,
}


# ---- catalogue-level rules -------------------------------------------------------------------


def test_licensed_instruments_are_score_entry_only_and_need_a_recorded_rater():
    for code in (
        "MMSE",
        "MOCA",
        "CDR",
        "NPI-Q",
        "NPI",
        "ZBI-22",
        "ZBI-12",
        "QOL-AD-SELF",
        "QOL-AD-PROXY",
    ):
        inst = get_instrument(code)
        assert inst.licence != LicenceStatus.FREE
        assert inst.entry_mode == EntryMode.TOTALS
        assert not inst.ships_item_text
        assert inst.requires_rater_credential


def test_only_the_clinic_diary_is_entered_item_by_item_and_it_says_it_is_not_validated():
    items_mode = [i for i in INSTRUMENTS.values() if i.entry_mode == EntryMode.ITEMS]
    assert [i.code for i in items_mode] == ["DIARY"]
    diary = items_mode[0]
    assert diary.licence == LicenceStatus.FREE
    assert diary.validated is False
    assert "not validated" in str(diary.name)


def test_every_instrument_has_a_source_range_and_direction():
    for inst in INSTRUMENTS.values():
        assert inst.source
        assert inst.total.low < inst.total.high
        assert isinstance(inst.higher_is_worse, bool)
        assert inst.measures


def test_self_and_proxy_quality_of_life_are_separate_measures():
    assert measure_info("QOL-AD-SELF").instrument is not measure_info("QOL-AD-PROXY").instrument


def test_unknown_instrument_is_refused():
    with pytest.raises(NotFound) as exc:
        get_instrument("MMSE-3")
    assert exc.value.code == "outcomes.unknown_instrument"


# ---- rater credential --------------------------------------------------------------------------


def test_licensed_score_without_recorded_rater_is_refused():
    result = validate_and_score(instrument="MOCA", values={"total": 24, "education_point": False})
    assert ("rater", "rater_credential_required") in codes(result)
    assert result.total is None


def test_expired_certification_is_refused():
    expired = RaterCredential("r2", "certification", "MOCA-CERT-9", expires_on=date(2025, 12, 31))
    result = validate_and_score(
        instrument="MOCA",
        values={"total": 24, "education_point": False},
        rater=expired,
        assessed_on=date(2026, 1, 5),
    )
    assert ("rater", "rater_credential_expired") in codes(result)


def test_diary_needs_no_credential():
    result = validate_and_score(
        instrument="DIARY",
        values={
            "sleep": 1,
            "agitation": 0,
            "evening_confusion": 2,
            "recognition": 0,
            "engagement": 1,
        },
    )
    assert result.ok and result.total == 4


# ---- MMSE ---------------------------------------------------------------------------------------


def test_mmse_total_only():
    result = score("MMSE", {"total": 22})
    assert result.ok and result.total == 22 and result.measures == {"MMSE": 22}


@pytest.mark.parametrize(
    ("value", "code"), [(31, "out_of_range"), (-1, "out_of_range"), (21.5, "wrong_step")]
)
def test_mmse_impossible_totals(value, code):
    result = score("MMSE", {"total": value})
    assert ("total", code) in codes(result)
    assert "not possible" in result.errors[0].message


def test_mmse_domain_subtotals_must_add_up():
    full = {
        "orientation": 8,
        "registration": 3,
        "attention": 3,
        "recall": 1,
        "language": 7,
        "copying": 1,
    }
    assert score("MMSE", full).total == 23
    assert ("total", "total_mismatch") in codes(score("MMSE", {**full, "total": 24}))
    assert ("orientation", "out_of_range") in codes(score("MMSE", {"orientation": 11, "total": 20}))


def test_mmse_partial_subtotals_must_fit_the_total():
    # Orientation 10 + registration 3 already exceed a total of 12.
    assert ("total", "total_inconsistent") in codes(
        score("MMSE", {"orientation": 10, "registration": 3, "total": 12})
    )
    # Total 29 with orientation 2 needs 27 from parts whose maxima add to 20.
    assert ("total", "total_inconsistent") in codes(score("MMSE", {"orientation": 2, "total": 29}))
    assert score("MMSE", {"orientation": 9, "total": 25}).ok


def test_non_numeric_and_boolean_values_are_refused():
    assert ("total", "not_a_number") in codes(score("MMSE", {"total": "22"}))
    assert ("total", "not_a_number") in codes(score("MMSE", {"total": True}))
    assert ("total", "not_a_number") in codes(score("MMSE", {"total": float("nan")}))


def test_unknown_field_is_refused():
    assert ("item_7", "unknown_field") in codes(score("MMSE", {"total": 20, "item_7": 1}))


# ---- MoCA ---------------------------------------------------------------------------------------


def test_moca_requires_the_education_point_answer():
    assert ("education_point", "required") in codes(score("MOCA", {"total": 24}))


def test_moca_education_point_must_match_years():
    assert ("education_point", "education_point_mismatch") in codes(
        score("MOCA", {"total": 24, "education_point": True, "education_years": 16})
    )
    assert ("education_point", "education_point_mismatch") in codes(
        score("MOCA", {"total": 24, "education_point": False, "education_years": 9})
    )
    assert score("MOCA", {"total": 24, "education_point": True, "education_years": 12}).ok


def test_moca_total_with_education_point_is_capped_at_30_and_never_0():
    domains = {
        "visuospatial_executive": 5,
        "naming": 3,
        "attention": 6,
        "language": 3,
        "abstraction": 2,
        "delayed_recall": 5,
        "orientation": 6,
    }
    result = score("MOCA", {**domains, "education_point": True})
    assert result.total == 30 and result.subscores["raw_total"] == 30
    low = {**domains, "delayed_recall": 0, "attention": 3}
    assert score("MOCA", {**low, "education_point": True}).total == 23  # raw 22 + 1
    assert ("total", "total_mismatch") in codes(
        score("MOCA", {**low, "education_point": True, "total": 22})
    )
    assert ("total", "education_point_inconsistent") in codes(
        score("MOCA", {"total": 0, "education_point": True})
    )
    assert ("total", "out_of_range") in codes(score("MOCA", {"total": 31, "education_point": True}))


# ---- CDR ----------------------------------------------------------------------------------------


def test_cdr_sum_of_boxes_equals_the_boxes():
    result = score("CDR", {**CDR_BOXES, "global": 0.5})
    assert result.ok and result.total == 3.5
    assert result.measures == {"CDR-SB": 3.5, "CDR-GLOBAL": 0.5}
    assert ("total", "total_mismatch") in codes(score("CDR", {**CDR_BOXES, "total": 4}))


def test_cdr_boxes_only_take_published_values():
    result = score("CDR", {**CDR_BOXES, "memory": 1.5})
    assert ("memory", "not_allowed_value") in codes(result)
    assert "0, 0.5, 1, 2, 3" in result.errors[0].message


def test_cdr_boxes_are_all_or_none():
    assert ("orientation", "incomplete_subscores") in codes(score("CDR", {"memory": 1, "total": 4}))
    assert score("CDR", {"total": 4.5, "global": 1}).ok


def test_cdr_sum_of_boxes_moves_in_half_points():
    assert ("total", "wrong_step") in codes(score("CDR", {"total": 4.25}))
    assert ("total", "out_of_range") in codes(score("CDR", {"total": 18.5}))


def test_cdr_global_cannot_show_impairment_with_all_boxes_zero():
    zeros = dict.fromkeys(CDR_BOXES, 0)
    assert ("global", "global_inconsistent") in codes(score("CDR", {**zeros, "global": 0.5}))
    assert score("CDR", {**zeros, "global": 0}).ok


# ---- NPI-Q / NPI --------------------------------------------------------------------------------


def npiq_domains(present=()):
    values = {}
    for code, _label in NPI_DOMAINS:
        values[f"{code}.present"] = code in present
        if code in present:
            values[f"{code}.severity"] = 2
            values[f"{code}.distress"] = 3
    return values


def test_npiq_domains_add_up_to_severity_and_distress_totals():
    result = score("NPI-Q", npiq_domains(present=("agitation", "night_time")))
    assert result.ok
    assert result.total == 4 and result.subscores["distress_total"] == 6
    assert result.measures == {"NPI-Q-SEVERITY": 4, "NPI-Q-DISTRESS": 6}


def test_npiq_severity_only_when_symptom_present():
    values = npiq_domains(present=("agitation",))
    values["apathy.severity"] = 1
    result = score("NPI-Q", values)
    assert ("apathy.severity", "rating_without_symptom") in codes(result)
    assert "absent" in next(i.message for i in result.errors if i.field == "apathy.severity")


def test_npiq_present_symptom_needs_severity_and_distress():
    values = npiq_domains(present=("agitation",))
    del values["agitation.severity"]
    assert ("agitation.severity", "required") in codes(score("NPI-Q", values))
    values = npiq_domains(present=())
    del values["delusions.present"]
    assert ("delusions.present", "required") in codes(score("NPI-Q", values))


def test_npiq_severity_scale_is_1_to_3():
    values = npiq_domains(present=("agitation",))
    values["agitation.severity"] = 0
    assert ("agitation.severity", "out_of_range") in codes(score("NPI-Q", values))


def test_npiq_totals_only_must_be_possible_together():
    assert score("NPI-Q", {"total": 5, "distress_total": 12}).ok
    assert ("distress_total", "distress_without_symptom") in codes(
        score("NPI-Q", {"total": 0, "distress_total": 2})
    )
    assert ("distress_total", "distress_without_symptom") in codes(
        score("NPI-Q", {"total": 2, "distress_total": 11})
    )
    assert ("total", "out_of_range") in codes(score("NPI-Q", {"total": 37, "distress_total": 0}))
    assert ("distress_total", "required") in codes(score("NPI-Q", {"total": 3}))


def test_npi_domain_scores_are_frequency_times_severity_products():
    assert ("delusions", "not_allowed_value") in codes(score("NPI", {"delusions": 5, "total": 5}))
    assert ("delusions", "not_allowed_value") in codes(score("NPI", {"delusions": 7, "total": 7}))
    assert score("NPI", {"delusions": 6, "total": 10}).ok


# ---- caregiver and quality-of-life scales -------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "ok", "bad"),
    [
        ("ZBI-22", 88, 89),
        ("ZBI-12", 48, 49),
        ("QOL-AD-SELF", 13, 12),
        ("QOL-AD-PROXY", 52, 53),
        ("ADCS-ADL", 78, 79),
        ("ADCS-MCI-ADL", 53, 54),
        ("ADAS-COG11", 70, 70.5),
        ("ADAS-COG13", 85, 86),
    ],
)
def test_total_only_instruments_enforce_their_range(code, ok, bad):
    assert score(code, {"total": ok}).ok
    assert ("total", "out_of_range") in codes(score(code, {"total": bad}))


def test_adas_cog_accepts_fractional_totals_from_word_recall_means():
    assert score("ADAS-COG11", {"total": 17.33}).total == pytest.approx(17.33)


def test_fast_stage_maps_to_ordinal_rank():
    assert score("FAST", {"stage": "4"}).total == 4
    assert score("FAST", {"stage": "7f"}).total == 16
    assert ("stage", "not_allowed_value") in codes(score("FAST", {"stage": "8"}))
    assert ("stage", "required") in codes(score("FAST", {}))


def test_diary_needs_every_item_and_each_item_is_0_to_3():
    result = validate_and_score(instrument="DIARY", values={"sleep": 1})
    assert {("agitation", "required"), ("engagement", "required")} <= codes(result)
    full = {"sleep": 4, "agitation": 0, "evening_confusion": 0, "recognition": 0, "engagement": 0}
    assert ("sleep", "out_of_range") in codes(validate_and_score(instrument="DIARY", values=full))


def test_raise_for_errors_gives_a_422_with_field_messages():
    result = score("MMSE", {"total": 40})
    with pytest.raises(ValidationFailed) as exc:
        result.raise_for_errors()
    assert exc.value.code == "outcomes.invalid_score"
    assert exc.value.status_code == 422
    assert "total" in exc.value.fields


# ---- properties ---------------------------------------------------------------------------------

box = st.sampled_from([0, 0.5, 1, 2, 3])


@settings(max_examples=150, deadline=None)
@given(st.lists(box, min_size=6, max_size=6))
def test_any_valid_cdr_boxes_give_their_sum(boxes):
    values = dict(zip(CDR_BOXES, boxes, strict=True))
    result = score("CDR", values)
    assert result.ok
    assert result.total == pytest.approx(sum(boxes))
    assert 0 <= result.total <= 18


@settings(max_examples=150, deadline=None)
@given(
    code=st.sampled_from(sorted(INSTRUMENTS)),
    value=st.floats(allow_nan=False, allow_infinity=False, width=32),
)
def test_no_accepted_total_is_ever_outside_the_range(code, value):
    inst = get_instrument(code)
    values = {"total": value}
    if code == "MOCA":
        values["education_point"] = False
    if code == "NPI-Q":
        values["distress_total"] = 0
    if code == "FAST":
        values["stage"] = FAST_STAGES[0]
    result = score(code, values)
    if result.ok and result.total is not None:
        assert inst.total.low <= result.total <= inst.total.high


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=3), min_size=5, max_size=5))
def test_diary_total_is_the_item_sum(items):
    keys = ["sleep", "agitation", "evening_confusion", "recognition", "engagement"]
    result = validate_and_score(instrument="DIARY", values=dict(zip(keys, items, strict=True)))
    assert result.total == sum(items)
