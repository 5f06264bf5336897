"""The gate's act "release": which rules judge a QA release, tried one by one on the pure rules.

A release certifies the product and the plan it is made under: the plan rules, the facility
rules, consent and the product rules (route, cells per dose) apply; who treats and for which
disease are the clinical acts' rules and do not.
"""

from dataclasses import replace
from datetime import date, datetime

import pytest

from saisei.core.timezones import TOKYO
from saisei.regulatory.rules import (
    GATE_RULES,
    Act,
    AuthorisationPeriod,
    ConsentFacts,
    FacilityFacts,
    FactConflict,
    GateFacts,
    GateRequest,
    PlanState,
    evaluate_gate,
)

AT = datetime(2025, 10, 1, 10, 0, tzinfo=TOKYO)
CPC, PLAN = 7, 42

RELEASE = GateRequest(
    act=Act.RELEASE,
    at=AT,
    institution_id=1,
    physician_id=None,  # nobody: QA releases, no physician is named
    patient_id=100,
    plan_version_id=PLAN,
    cell_source="autologous",
    facility_id=CPC,
    route="iv",
    dose_cells=100_000_000,
    indication=None,
)
FACTS = GateFacts(
    plan_version_id=PLAN,
    plan_state=PlanState.IN_FORCE,
    risk_class=2,
    institution_id=1,
    submitted_date=date(2025, 3, 1),
    accepted_date=date(2025, 3, 5),
    in_force_from=date(2025, 3, 5),
    listed_physician_ids=frozenset({11}),
    allowed_cell_sources=frozenset({"autologous"}),
    allowed_indications=frozenset({"alzheimers_disease"}),
    allowed_routes=frozenset({"iv"}),
    dose_min_cells=50_000_000,
    dose_max_cells=200_000_000,
    max_administrations=10,
    listed_facilities=(FacilityFacts(CPC, (AuthorisationPeriod("notified", date(2024, 1, 1)),)),),
    consent=ConsentFacts(status="valid", plan_version_id=PLAN, patient_id=100),
)


def blocked(request: GateRequest = RELEASE, **changes: object) -> list[str]:
    result = evaluate_gate(request, replace(FACTS, **changes))
    return [f.rule for f in result.findings if f.severity == "block"]


def test_a_release_under_the_plan_in_force_needs_no_physician_or_indication() -> None:
    assert blocked() == []


def test_the_release_subset_is_explicit() -> None:
    release_rules = {r.id for r in GATE_RULES if Act.RELEASE in r.acts}
    assert release_rules == {
        "GATE-PLAN-MISSING",
        "GATE-INSTITUTION-NOT-COVERED",
        "GATE-PLAN-NOT-ACCEPTED",
        "GATE-PLAN-NOT-IN-FORCE",
        "GATE-CLASS1-WAITING-PERIOD",
        "GATE-PLAN-SUSPENDED",
        "GATE-PLAN-CHANGE-ORDERED",
        "GATE-FACT-CONFLICTS-RECORD",
        "GATE-CELL-SOURCE-UNKNOWN",
        "GATE-CELL-SOURCE-NOT-IN-PLAN",
        "GATE-ROUTE-UNKNOWN",
        "GATE-ROUTE-NOT-IN-PLAN",
        "GATE-DOSE-UNKNOWN",
        "GATE-DOSE-OUTSIDE-PLAN",
        "GATE-CPC-UNKNOWN",
        "GATE-CPC-NOT-LISTED",
        "GATE-CPC-NOT-AUTHORISED",
        "GATE-CONSENT-NOT-VALID",
        "GATE-PERIODIC-REPORT-OVERDUE",
        "GATE-REPORT-OVERDUE",
    }
    for rule in GATE_RULES:
        assert rule.source, rule.id


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"plan_version_id": None}, "GATE-PLAN-MISSING"),
        ({"in_force_until": date(2025, 9, 30)}, "GATE-PLAN-NOT-IN-FORCE"),
        ({"plan_state": PlanState.SUSPENDED}, "GATE-PLAN-SUSPENDED"),
        ({"plan_state": PlanState.CHANGE_ORDERED}, "GATE-PLAN-CHANGE-ORDERED"),
        ({"plan_state": PlanState.SUBMITTED}, "GATE-PLAN-NOT-ACCEPTED"),
        ({"institution_id": 2}, "GATE-INSTITUTION-NOT-COVERED"),
        ({"listed_facilities": ()}, "GATE-CPC-NOT-LISTED"),
        (
            {
                "listed_facilities": (
                    FacilityFacts(
                        CPC, (AuthorisationPeriod("licensed", date(2020, 1, 1), date(2025, 9, 1)),)
                    ),
                )
            },
            "GATE-CPC-NOT-AUTHORISED",
        ),
        ({"listed_facilities": (FacilityFacts(CPC),)}, "GATE-CPC-NOT-AUTHORISED"),
        ({"consent": ConsentFacts(status="withdrawn")}, "GATE-CONSENT-NOT-VALID"),
        ({"allowed_routes": frozenset({"intrathecal"})}, "GATE-ROUTE-NOT-IN-PLAN"),
        ({"dose_max_cells": 80_000_000}, "GATE-DOSE-OUTSIDE-PLAN"),
        ({"allowed_cell_sources": frozenset({"allogeneic"})}, "GATE-CELL-SOURCE-NOT-IN-PLAN"),
    ],
)
def test_each_release_rule_refuses(changes: dict[str, object], rule: str) -> None:
    assert rule in blocked(**changes)


@pytest.mark.parametrize(
    ("missing", "rule"),
    [
        ({"route": None}, "GATE-ROUTE-UNKNOWN"),
        ({"dose_cells": None}, "GATE-DOSE-UNKNOWN"),
        ({"cell_source": None}, "GATE-CELL-SOURCE-UNKNOWN"),
        ({"facility_id": None}, "GATE-CPC-UNKNOWN"),
    ],
)
def test_a_release_missing_a_product_fact_is_refused_not_assumed(
    missing: dict[str, object], rule: str
) -> None:
    """A fact neither the request nor any record holds refuses the release with its own rule."""
    assert blocked(replace(RELEASE, **missing)) == [rule]


def test_a_release_whose_stated_fact_contradicts_the_record_is_refused() -> None:
    conflict = (FactConflict("route", "intrathecal", "iv"),)
    assert blocked(replace(RELEASE, conflicts=conflict)) == ["GATE-FACT-CONFLICTS-RECORD"]


def test_physician_and_indication_are_not_release_rules() -> None:
    assert blocked(listed_physician_ids=frozenset(), allowed_indications=frozenset()) == []
    harvest = replace(RELEASE, act=Act.HARVEST, physician_id=-1, indication="parkinsons_disease")
    refused = blocked(harvest, listed_physician_ids=frozenset(), allowed_indications=frozenset())
    assert {"GATE-PHYSICIAN-NOT-LISTED", "GATE-INDICATION-NOT-IN-PLAN"} <= set(refused)


def test_a_clinical_act_missing_its_physician_or_indication_is_refused_a_release_is_not() -> None:
    """The unknown-fact rules follow their acts: a harvest or an administration without a
    performing physician or a recorded diagnosis is refused; a QA release never names either."""
    unknown = {"physician_id": None, "indication": None}
    assert blocked(replace(RELEASE, **unknown)) == []
    for act in (Act.HARVEST, Act.ADMINISTRATION):
        refused = set(blocked(replace(RELEASE, act=act, **unknown)))
        assert {"GATE-PHYSICIAN-UNKNOWN", "GATE-INDICATION-UNKNOWN"} <= refused, act


@pytest.mark.parametrize("act", list(Act))
@pytest.mark.parametrize(
    "missing",
    [
        "physician_id",
        "cell_source",
        "indication",
        "route",
        "dose_cells",
        "facility_id",
    ],
)
def test_every_act_fails_closed_on_each_fact_it_judges(act: Act, missing: str) -> None:
    """For every act, leaving out a fact one of its rules judges is refused, never assumed."""
    judged = {
        "physician_id": "GATE-PHYSICIAN-NOT-LISTED",
        "cell_source": "GATE-CELL-SOURCE-NOT-IN-PLAN",
        "indication": "GATE-INDICATION-NOT-IN-PLAN",
        "route": "GATE-ROUTE-NOT-IN-PLAN",
        "dose_cells": "GATE-DOSE-OUTSIDE-PLAN",
        "facility_id": "GATE-CPC-NOT-LISTED",
    }[missing]
    rules = {r.id for r in GATE_RULES if act in r.acts}
    complete = replace(
        RELEASE, act=act, physician_id=11, indication="alzheimers_disease", administration_number=1
    )
    assert blocked(complete) == []
    refused = blocked(replace(complete, **{missing: None}))
    if judged in rules:
        assert refused, f"{act}: {missing} left out was allowed"
        assert all(r.endswith("-UNKNOWN") for r in refused), refused
    else:
        assert refused == []
