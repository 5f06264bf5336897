"""Compliance gate: one scenario per rule, each refused with the right rule id, plus the all-clear."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from saisei.core.catalogues import translations
from saisei.core.errors import DomainError
from saisei.core.timezones import TOKYO
from saisei.regulatory.rules import (
    GATE_RULES,
    Act,
    AuthorisationPeriod,
    ConsentFacts,
    FacilityFacts,
    GateFacts,
    GateRequest,
    OverdueObligation,
    PlanState,
    evaluate_gate,
)

MESSAGES_JA = translations("regulatory", "ja")

AT = datetime(2025, 10, 1, 10, 0, tzinfo=TOKYO)
CPC = 7
PLAN = 42

REQUEST = GateRequest(
    act=Act.ADMINISTRATION,
    at=AT,
    institution_id=1,
    physician_id=11,
    patient_id=100,
    plan_version_id=PLAN,
    cell_source="autologous_adipose",
    facility_id=CPC,
    route="iv",
    dose_cells=200_000_000,
    administration_number=3,
    indication="alzheimers_disease",
)
HARVEST = replace(REQUEST, act=Act.HARVEST, route=None, dose_cells=None, administration_number=None)

FACTS = GateFacts(
    plan_version_id=PLAN,
    plan_state=PlanState.IN_FORCE,
    risk_class=2,
    institution_id=1,
    submitted_date=date(2025, 3, 1),
    accepted_date=date(2025, 3, 5),
    in_force_from=date(2025, 3, 5),
    listed_physician_ids=frozenset({11, 12}),
    allowed_cell_sources=frozenset({"autologous_adipose"}),
    allowed_indications=frozenset({"alzheimers_disease"}),
    allowed_routes=frozenset({"iv", "intrathecal"}),
    dose_min_cells=150_000_000,
    dose_max_cells=250_000_000,
    max_administrations=10,
    administrations_given=2,
    listed_facilities=(FacilityFacts(CPC, (AuthorisationPeriod("notified", date(2024, 1, 1)),)),),
    consent=ConsentFacts(status="valid", plan_version_id=PLAN, patient_id=100),
)


def evaluate(request=REQUEST, **changes):
    return evaluate_gate(request, replace(FACTS, **changes))


def assert_blocked_by(result, rule_id):
    assert not result.allowed
    assert rule_id in result.rule_ids
    finding = next(f for f in result.findings if f.rule == rule_id)
    assert finding.severity == "block"
    return finding


def test_all_clear_administration_is_allowed_with_no_findings():
    result = evaluate()
    assert result.allowed
    assert result.findings == ()
    assert result.as_dict() == {"allowed": True, "act_date": date(2025, 10, 1), "findings": []}


def test_all_clear_harvest_is_allowed_without_route_dose_or_number():
    result = evaluate_gate(HARVEST, FACTS)
    assert result.allowed and result.findings == ()


def test_no_plan_found_blocks_and_nothing_else_is_judged():
    result = evaluate(plan_version_id=None)
    assert_blocked_by(result, "GATE-PLAN-MISSING")
    assert result.rule_ids == ["GATE-PLAN-MISSING"]


def test_facts_for_another_plan_version_count_as_no_plan():
    assert_blocked_by(evaluate(plan_version_id=PLAN + 1), "GATE-PLAN-MISSING")


def test_a_plan_of_another_institution_does_not_cover_this_one():
    assert_blocked_by(evaluate(institution_id=2), "GATE-INSTITUTION-NOT-COVERED")


@pytest.mark.parametrize("state", ["draft", "committee_review", "opinion_favourable", "submitted"])
def test_a_plan_not_yet_accepted_blocks(state):
    finding = assert_blocked_by(
        evaluate(plan_state=state, in_force_from=None), "GATE-PLAN-NOT-ACCEPTED"
    )
    assert state in finding.message


def test_a_plan_not_in_force_until_later_blocks():
    assert_blocked_by(evaluate(in_force_from=date(2025, 10, 2)), "GATE-PLAN-NOT-IN-FORCE")


@pytest.mark.parametrize("state", ["superseded", "discontinued", "closed"])
def test_a_superseded_discontinued_or_closed_version_is_not_in_force(state):
    assert_blocked_by(evaluate(plan_state=state), "GATE-PLAN-NOT-IN-FORCE")


def test_a_version_whose_force_ended_yesterday_blocks():
    assert_blocked_by(evaluate(in_force_until=date(2025, 9, 30)), "GATE-PLAN-NOT-IN-FORCE")


def test_the_act_date_is_the_date_in_tokyo():
    # 15:30 UTC on 30 Sep is 00:30 on 1 Oct in Tokyo, the plan's first day in force.
    late_utc = replace(REQUEST, at=datetime(2025, 9, 30, 15, 30, tzinfo=UTC))
    result = evaluate(late_utc, in_force_from=date(2025, 10, 1))
    assert result.allowed and result.act_date == date(2025, 10, 1)


def test_class_1_plan_is_blocked_during_its_ninety_day_wait_with_the_first_allowed_day():
    submitted = date(2025, 8, 1)
    result = evaluate(
        risk_class=1,
        plan_state="accepted",
        submitted_date=submitted,
        accepted_date=submitted,
        in_force_from=None,
    )
    finding = assert_blocked_by(result, "GATE-CLASS1-WAITING-PERIOD")
    assert "2025-10-30" in finding.message and "2025-10-30" in finding.message_ja
    assert result.rule_ids == ["GATE-CLASS1-WAITING-PERIOD"]  # not also "not in force"


def test_class_1_plan_in_force_on_the_first_allowed_day_passes():
    submitted = AT.date() - timedelta(days=90)
    result = evaluate(
        risk_class=1, submitted_date=submitted, accepted_date=submitted, in_force_from=AT.date()
    )
    assert result.allowed


def test_class_1_wait_also_blocks_a_harvest():
    result = evaluate_gate(HARVEST, replace(FACTS, risk_class=1, submitted_date=date(2025, 9, 1)))
    assert_blocked_by(result, "GATE-CLASS1-WAITING-PERIOD")


def test_a_suspended_plan_blocks():
    assert_blocked_by(evaluate(plan_state="suspended"), "GATE-PLAN-SUSPENDED")


def test_a_plan_under_a_change_order_blocks():
    assert_blocked_by(evaluate(plan_state="change_ordered"), "GATE-PLAN-CHANGE-ORDERED")


def test_a_physician_not_listed_in_the_plan_is_blocked():
    assert_blocked_by(evaluate(replace(REQUEST, physician_id=99)), "GATE-PHYSICIAN-NOT-LISTED")


def test_donor_cells_under_an_autologous_plan_are_blocked():
    finding = assert_blocked_by(
        evaluate(replace(REQUEST, cell_source="allogeneic_cord")), "GATE-CELL-SOURCE-NOT-IN-PLAN"
    )
    assert "allogeneic_cord" in finding.message_ja


@pytest.mark.parametrize(
    ("indication", "rule"),
    [("chronic_pain", "GATE-INDICATION-NOT-IN-PLAN"), (None, "GATE-INDICATION-UNKNOWN")],
)
def test_an_indication_the_plan_does_not_cover_or_unknown_is_blocked(indication, rule):
    result = evaluate(replace(REQUEST, indication=indication))
    assert_blocked_by(result, rule)
    assert_blocked_by(evaluate_gate(replace(HARVEST, indication=indication), FACTS), rule)


def test_a_plan_whose_class_is_unknown_gets_the_class_1_wait():
    result = evaluate(risk_class=None, submitted_date=date(2025, 9, 1))
    assert_blocked_by(result, "GATE-CLASS1-WAITING-PERIOD")
    assert evaluate(risk_class=None, submitted_date=date(2025, 1, 1)).allowed


def test_an_unknown_act_is_refused():
    with pytest.raises(DomainError) as err:
        evaluate(replace(REQUEST, act="transfusion"))
    assert err.value.code == "gate.invalid_input"


def test_a_route_outside_the_plan_is_blocked():
    assert_blocked_by(evaluate(replace(REQUEST, route="intra_articular")), "GATE-ROUTE-NOT-IN-PLAN")


@pytest.mark.parametrize("dose", [149_999_999, 250_000_001])
def test_a_dose_outside_the_plan_range_is_blocked(dose):
    finding = assert_blocked_by(
        evaluate(replace(REQUEST, dose_cells=dose)), "GATE-DOSE-OUTSIDE-PLAN"
    )
    assert f"{dose:,}" in finding.message


def test_a_missing_dose_is_blocked_by_its_own_rule():
    result = evaluate(replace(REQUEST, dose_cells=None))
    assert_blocked_by(result, "GATE-DOSE-UNKNOWN")
    assert "GATE-DOSE-OUTSIDE-PLAN" not in result.rule_ids


def test_dose_bounds_are_inclusive():
    assert evaluate(replace(REQUEST, dose_cells=150_000_000)).allowed
    assert evaluate(replace(REQUEST, dose_cells=250_000_000)).allowed


def test_a_plan_without_a_dose_range_cannot_pass_an_administration():
    assert_blocked_by(evaluate(dose_min_cells=None, dose_max_cells=None), "GATE-DOSE-OUTSIDE-PLAN")


def test_one_administration_more_than_the_plan_allows_is_blocked():
    request = replace(REQUEST, administration_number=11)
    assert_blocked_by(evaluate(request, administrations_given=10), "GATE-ADMINISTRATION-LIMIT")


def test_a_number_out_of_sequence_only_warns():
    result = evaluate(replace(REQUEST, administration_number=5))
    assert result.allowed
    assert [(f.rule, f.severity) for f in result.findings] == [
        ("GATE-ADMINISTRATION-SEQUENCE", "warn")
    ]


def test_a_processing_facility_not_listed_in_the_plan_is_blocked():
    assert_blocked_by(evaluate(replace(REQUEST, facility_id=8)), "GATE-CPC-NOT-LISTED")
    assert_blocked_by(evaluate_gate(replace(HARVEST, facility_id=None), FACTS), "GATE-CPC-UNKNOWN")


@pytest.mark.parametrize(
    ("field", "rule"),
    [
        ("physician_id", "GATE-PHYSICIAN-UNKNOWN"),
        ("cell_source", "GATE-CELL-SOURCE-UNKNOWN"),
        ("indication", "GATE-INDICATION-UNKNOWN"),
        ("route", "GATE-ROUTE-UNKNOWN"),
        ("dose_cells", "GATE-DOSE-UNKNOWN"),
        ("facility_id", "GATE-CPC-UNKNOWN"),
    ],
)
def test_a_fact_nobody_could_state_is_refused_with_its_own_rule(field, rule):
    result = evaluate(replace(REQUEST, **{field: None}))
    assert not result.allowed
    assert [f.rule for f in result.findings if f.severity == "block"] == [rule]


def test_a_stated_fact_that_contradicts_the_record_is_blocked():
    from saisei.regulatory.rules import FactConflict

    conflict = FactConflict("route", "iv", "intrathecal")
    finding = assert_blocked_by(
        evaluate(replace(REQUEST, conflicts=(conflict,))), "GATE-FACT-CONFLICTS-RECORD"
    )
    assert "'iv'" in finding.message and "'intrathecal'" in finding.message


@pytest.mark.parametrize(
    "facility",
    [
        FacilityFacts(CPC),  # nothing in the register: not authorised (fail closed)
        FacilityFacts(CPC, (AuthorisationPeriod("revoked", date(2024, 1, 1)),)),
        FacilityFacts(CPC, (AuthorisationPeriod("licensed", date(2020, 1, 1), date(2025, 9, 30)),)),
        FacilityFacts(CPC, (AuthorisationPeriod("licensed", date(2025, 10, 2), date(2030, 1, 1)),)),
    ],
)
def test_a_facility_without_valid_authorisation_on_the_day_is_blocked(facility):
    assert_blocked_by(evaluate(listed_facilities=(facility,)), "GATE-CPC-NOT-AUTHORISED")


@pytest.mark.parametrize(
    "consent",
    [
        ConsentFacts(status="withdrawn", plan_version_id=PLAN, patient_id=100),
        ConsentFacts(status="missing"),
        ConsentFacts(status="valid", plan_version_id=PLAN - 1, patient_id=100),
        ConsentFacts(status="valid", plan_version_id=PLAN, patient_id=101),
    ],
)
def test_without_valid_consent_for_this_plan_version_the_act_is_blocked(consent):
    assert_blocked_by(evaluate(consent=consent), "GATE-CONSENT-NOT-VALID")


def test_an_overdue_periodic_report_warns_but_does_not_block():
    overdue = (OverdueObligation("PERIODIC-REPORT", date(2025, 6, 29)),)
    result = evaluate(overdue_obligations=overdue)
    assert result.allowed
    finding = result.findings[0]
    assert (finding.rule, finding.severity) == ("GATE-PERIODIC-REPORT-OVERDUE", "warn")
    assert "2025-06-29" in finding.message


def test_other_overdue_reports_warn():
    overdue = (OverdueObligation("AE-COMMITTEE-15D", date(2025, 9, 1)),)
    result = evaluate(overdue_obligations=overdue)
    assert result.allowed and result.rule_ids == ["GATE-REPORT-OVERDUE"]


def test_several_failures_are_all_reported():
    result = evaluate(replace(REQUEST, physician_id=99, route="oral"), plan_state="suspended")
    assert {"GATE-PLAN-SUSPENDED", "GATE-PHYSICIAN-NOT-LISTED", "GATE-ROUTE-NOT-IN-PLAN"} <= set(
        result.rule_ids
    )


def test_findings_explain_in_english_and_japanese_with_their_legal_source():
    result = evaluate(replace(REQUEST, physician_id=99))
    finding = result.as_dict()["findings"][0]
    assert finding == {
        "rule": "GATE-PHYSICIAN-NOT-LISTED",
        "severity": "block",
        "message": "This physician is not listed in the plan.",
        "message_ja": "この医師は計画に記載されていません。",
        "source": finding["source"],
    }
    assert finding["source"].startswith("ASRM Art. 4(1)")


def test_a_naive_datetime_is_refused():
    with pytest.raises(DomainError) as err:
        evaluate(replace(REQUEST, at=datetime(2025, 10, 1, 10, 0)))
    assert err.value.code == "gate.naive_datetime"


def test_every_rule_has_a_stable_unique_id_a_source_and_japanese_wording():
    ids = [r.id for r in GATE_RULES]
    assert len(ids) == len(set(ids))
    assert set(ids) == {
        "GATE-PHYSICIAN-UNKNOWN",
        "GATE-FACT-CONFLICTS-RECORD",
        "GATE-CELL-SOURCE-UNKNOWN",
        "GATE-INDICATION-UNKNOWN",
        "GATE-ROUTE-UNKNOWN",
        "GATE-DOSE-UNKNOWN",
        "GATE-CPC-UNKNOWN",
        "GATE-PLAN-MISSING",
        "GATE-INSTITUTION-NOT-COVERED",
        "GATE-PLAN-NOT-ACCEPTED",
        "GATE-PLAN-NOT-IN-FORCE",
        "GATE-CLASS1-WAITING-PERIOD",
        "GATE-PLAN-SUSPENDED",
        "GATE-PLAN-CHANGE-ORDERED",
        "GATE-PHYSICIAN-NOT-LISTED",
        "GATE-CELL-SOURCE-NOT-IN-PLAN",
        "GATE-INDICATION-NOT-IN-PLAN",
        "GATE-ROUTE-NOT-IN-PLAN",
        "GATE-DOSE-OUTSIDE-PLAN",
        "GATE-ADMINISTRATION-LIMIT",
        "GATE-ADMINISTRATION-SEQUENCE",
        "GATE-CPC-NOT-LISTED",
        "GATE-CPC-NOT-AUTHORISED",
        "GATE-CONSENT-NOT-VALID",
        "GATE-PERIODIC-REPORT-OVERDUE",
        "GATE-REPORT-OVERDUE",
    }
    for rule in GATE_RULES:
        assert rule.source.startswith("ASRM")
        assert rule.msgid in MESSAGES_JA
        assert rule.check.__doc__
