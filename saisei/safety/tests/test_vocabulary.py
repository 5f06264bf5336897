"""Adverse-event vocabulary: sourced terms per procedure, serious ones first."""

import pytest

from saisei.core.errors import NotFound
from saisei.safety.vocabulary import (
    AE_TERMS,
    THROMBOEMBOLIC_CONTEXT_FIELDS,
    THROMBOEMBOLIC_TERMS,
    Context,
    Kind,
    get_term,
    monitored_terms,
    terms_for,
)


def test_every_term_is_unique_and_sourced():
    codes = [t.code for t in AE_TERMS]
    assert len(codes) == len(set(codes))
    for term in AE_TERMS:
        assert term.sources and all(s.startswith("http") for s in term.sources)
        assert term.contexts and term.evidence


def test_liposuction_list_has_the_facts_sheet_terms():
    codes = {t.code for t in terms_for(context="liposuction")}
    assert {
        "seroma",
        "haematoma",
        "wound_infection",
        "deep_vein_thrombosis",
        "pulmonary_embolism",
        "fat_embolism",
        "lidocaine_toxicity",
        "fluid_overload",
        "bruising",
        "swelling",
    } <= codes


def test_iv_msc_list_has_fever_and_the_thromboembolic_watch_terms():
    codes = {t.code for t in monitored_terms(context=Context.IV_MSC)}
    assert "fever" in codes
    assert codes >= THROMBOEMBOLIC_TERMS
    assert THROMBOEMBOLIC_CONTEXT_FIELDS == (
        "cell_source",
        "dose_cells",
        "passage",
        "infusion_rate",
    )


def test_serious_terms_come_first():
    kinds = [t.kind for t in terms_for(context="liposuction")]
    assert kinds[0] == Kind.SERIOUS
    assert kinds.index(Kind.EXPECTED_EFFECT) > max(
        i for i, k in enumerate(kinds) if k == Kind.SERIOUS
    )


def test_unsourced_population_risks_are_marked_uncertain():
    assert get_term("delirium").uncertain
    assert get_term("device_complication").uncertain


def test_aria_fields_exist_for_patients_on_anti_amyloid_drugs():
    assert {t.code for t in terms_for(context="concomitant")} == {"aria_e", "aria_h"}


def test_unknown_term_and_context_are_refused():
    with pytest.raises(NotFound):
        get_term("unicorn")
    with pytest.raises(ValueError):
        terms_for(context="oral")
