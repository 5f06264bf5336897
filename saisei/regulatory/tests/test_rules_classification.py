"""Risk classification: the class a plan must declare, and why."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saisei.core.catalogues import translations
from saisei.core.errors import DomainError
from saisei.regulatory.rules import (
    CLASSIFICATION_RULES,
    CellOrigin,
    CellType,
    ClassificationConfig,
    check_declared_class,
    classify,
)

MESSAGES_JA = translations("regulatory", "ja")


AUTOLOGOUS_MSC_IV = {
    "cell_origin": "autologous",
    "cell_type": "somatic_stem",
    "gene_introduced": False,
    "gene_edited": False,
    "cultured": True,
    "homologous_use": False,
}
AUTOLOGOUS_PRP_SKIN = {
    "cell_origin": "autologous",
    "cell_type": "somatic",
    "gene_introduced": False,
    "gene_edited": False,
    "cultured": False,
    "homologous_use": True,
}


def rule_ids(result):
    return [r.rule for r in result.reasons]


def test_autologous_cultured_adipose_msc_given_iv_is_class_2_for_three_reasons():
    result = classify(**AUTOLOGOUS_MSC_IV)
    assert result.risk_class == 2
    assert rule_ids(result) == ["CLASS2-SOMATIC-STEM", "CLASS2-CULTURED", "CLASS2-NON-HOMOLOGOUS"]


def test_allogeneic_msc_is_class_1_and_only_the_class_1_reason_is_given():
    result = classify(**{**AUTOLOGOUS_MSC_IV, "cell_origin": "allogeneic"})
    assert result.risk_class == 1
    assert rule_ids(result) == ["CLASS1-ALLOGENEIC"]


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"cell_type": "es"}, "CLASS1-PLURIPOTENT"),
        ({"cell_type": "ips"}, "CLASS1-PLURIPOTENT"),
        ({"cell_type": "ips_like"}, "CLASS1-PLURIPOTENT"),
        ({"gene_introduced": True}, "CLASS1-GENE-INTRODUCED"),
        ({"gene_edited": True}, "CLASS1-GENE-EDITED"),
        ({"cell_origin": "xenogeneic"}, "CLASS1-XENOGENEIC"),
        ({"cell_origin": "allogeneic"}, "CLASS1-ALLOGENEIC"),
    ],
)
def test_each_class_1_criterion_alone_makes_even_skin_prp_class_1(change, rule):
    result = classify(**{**AUTOLOGOUS_PRP_SKIN, **change})
    assert result.risk_class == 1
    assert rule_ids(result) == [rule]


def test_prp_in_a_homologous_site_is_class_3():
    result = classify(**AUTOLOGOUS_PRP_SKIN)
    assert result.risk_class == 3
    assert rule_ids(result) == ["CLASS3-RESIDUAL"]
    assert result.reasons[0].source == "ASRM Art. 2(7)"


def test_knee_prp_is_class_2_because_joint_use_is_not_homologous():
    result = classify(**{**AUTOLOGOUS_PRP_SKIN, "homologous_use": False})
    assert (result.risk_class, rule_ids(result)) == (2, ["CLASS2-NON-HOMOLOGOUS"])


def test_uncultured_stem_cells_in_homologous_use_stay_class_2_unless_configured():
    facts = {**AUTOLOGOUS_PRP_SKIN, "cell_type": "somatic_stem"}
    assert classify(**facts).risk_class == 2
    relaxed = ClassificationConfig(somatic_stem_cells_at_least_class_2=False)
    assert classify(**facts, config=relaxed).risk_class == 3


def test_culture_counts_as_class_2_unless_configured_to_need_a_structural_purpose():
    facts = {**AUTOLOGOUS_PRP_SKIN, "cultured": True}
    assert rule_ids(classify(**facts)) == ["CLASS2-CULTURED"]
    relaxed = ClassificationConfig(any_culture_is_class_2=False)
    assert classify(**facts, config=relaxed).risk_class == 3


def test_as_dict_has_the_documented_shape():
    data = classify(**AUTOLOGOUS_MSC_IV).as_dict()
    assert data["risk_class"] == 2
    assert set(data["reasons"][0]) == {"rule", "text", "source"}
    assert "Enforcement Regulation Art. 3" in data["reasons"][0]["source"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("cell_origin", "donor"), ("cell_type", "msc"), ("cultured", "false"), ("gene_edited", None)],
)
def test_unknown_or_non_boolean_inputs_are_refused_not_guessed(field, value):
    with pytest.raises(DomainError) as err:
        classify(**{**AUTOLOGOUS_MSC_IV, field: value})
    assert err.value.code == "classification.invalid_input"
    assert field in err.value.fields


def test_a_plan_may_not_declare_a_lower_risk_class_than_computed():
    with pytest.raises(DomainError) as err:
        check_declared_class(declared=2, computed=1)
    assert err.value.code == "plan.declared_class_too_low"
    assert "Class 2" in str(err.value.message)


@pytest.mark.parametrize(("declared", "computed"), [(2, 2), (1, 2), (1, 3), (3, 3)])
def test_declaring_the_same_or_a_stricter_class_is_fine(declared, computed):
    assert check_declared_class(declared=declared, computed=computed) is None


def test_declared_class_must_be_1_2_or_3():
    with pytest.raises(DomainError) as err:
        check_declared_class(declared=4, computed=2)
    assert err.value.code == "classification.invalid_input"


def test_every_rule_has_a_unique_id_a_source_and_japanese_text():
    ids = [r.id for r in CLASSIFICATION_RULES]
    assert len(ids) == len(set(ids))
    for rule in CLASSIFICATION_RULES:
        assert rule.source.strip()
        assert rule.text in MESSAGES_JA


@given(
    origin=st.sampled_from(list(CellOrigin)),
    cell_type=st.sampled_from(list(CellType)),
    gene_introduced=st.booleans(),
    gene_edited=st.booleans(),
    cultured=st.booleans(),
    homologous=st.booleans(),
)
def test_class_1_exactly_when_a_class_1_criterion_holds(
    origin, cell_type, gene_introduced, gene_edited, cultured, homologous
):
    result = classify(
        cell_origin=origin,
        cell_type=cell_type,
        gene_introduced=gene_introduced,
        gene_edited=gene_edited,
        cultured=cultured,
        homologous_use=homologous,
    )
    class_1 = (
        origin is not CellOrigin.AUTOLOGOUS
        or cell_type in {CellType.ES, CellType.IPS, CellType.IPS_LIKE}
        or gene_introduced
        or gene_edited
    )
    assert (result.risk_class == 1) == class_1
    by_id = {r.id: r for r in CLASSIFICATION_RULES}
    assert result.reasons
    assert all(by_id[r.rule].risk_class == result.risk_class for r in result.reasons)
    # Dropping culture or making use homologous can never raise the risk.
    if cultured:
        lower = classify(
            cell_origin=origin,
            cell_type=cell_type,
            gene_introduced=gene_introduced,
            gene_edited=gene_edited,
            cultured=False,
            homologous_use=homologous,
        )
        assert lower.risk_class >= result.risk_class
