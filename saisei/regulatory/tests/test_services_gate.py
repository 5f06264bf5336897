"""Every gate rule, through the service with real rows: refused with the right rule id."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured

from saisei.core.errors import NotFound
from saisei.core.timezones import TOKYO
from saisei.regulatory import services
from saisei.regulatory.models import GateRefusal, today_tokyo
from saisei.regulatory.tests.factories import (
    FacilityFactory,
    InstitutionFactory,
    ObligationFactory,
    PhysicianFactory,
)

from .conftest import make_plan, plan_in_force, run

pytestmark = pytest.mark.django_db
TODAY = today_tokyo()
D = dt.timedelta
NOW = dt.datetime.combine(TODAY, dt.time(10, 0), tzinfo=TOKYO)


def check(registry, plan, **kw):
    return services.gate_check(**{**_args(registry, plan), **kw})


def blocking(result):
    return {f.rule for f in result.findings if f.severity == "block"}


@pytest.fixture
def plan(officer, registry, consent_valid):
    return plan_in_force(officer, registry)


def test_plan_in_force_with_everything_in_order_is_allowed(registry, plan):
    result = check(registry, plan)
    assert result.allowed and result.findings == ()


def test_harvest_skips_route_and_dose_rules(registry, plan):
    result = check(registry, plan, act="harvest", route=None, dose_cells=None)
    assert result.allowed


def test_no_plan(registry, consent_valid):
    assert blocking(check(registry, None)) == {"GATE-PLAN-MISSING"}


def test_other_institution(registry, plan, org):
    assert "GATE-INSTITUTION-NOT-COVERED" in blocking(
        check(registry, plan, institution=InstitutionFactory(organisation=org))
    )


def test_site_of_the_institution_is_accepted(registry, plan):
    assert check(registry, plan, institution=registry["institution"].site).allowed


def test_draft_plan_is_not_accepted(officer, registry, consent_valid):
    plan = make_plan(officer, registry)
    assert "GATE-PLAN-NOT-ACCEPTED" in blocking(check(registry, plan))


def test_act_before_the_plan_came_into_force(registry, plan):
    early = NOW - D(60)
    assert "GATE-PLAN-NOT-ACCEPTED" in blocking(check(registry, plan, at=early)) or (
        "GATE-PLAN-NOT-IN-FORCE" in blocking(check(registry, plan, at=early))
    )


def test_discontinued_plan_is_not_in_force(admin, registry, plan):
    run(admin, plan.versions.get(), "discontinue", on=TODAY - D(1))
    assert "GATE-PLAN-NOT-IN-FORCE" in blocking(check(registry, plan))


def test_class_i_waiting_period(officer, registry, consent_valid):
    plan = make_plan(officer, registry, cell_origin="allogeneic")
    v = plan.versions.get()
    run(
        officer,
        v,
        "submit_for_review",
        "record_favourable_opinion",
        "submit_to_authority",
        "record_acceptance",
        on=TODAY - D(10),
    )
    result = check(registry, plan, cell_source="allogeneic")
    assert blocking(result) == {"GATE-CLASS1-WAITING-PERIOD"}
    finding = result.findings[0]
    assert "ASRM Art. 8" in finding.source and "第一種" in finding.message_ja


def test_suspended_plan(officer, registry, plan):
    run(officer, plan.versions.get(), "suspend")
    assert blocking(check(registry, plan)) == {"GATE-PLAN-SUSPENDED"}


def test_change_ordered_plan(officer, registry, plan):
    run(officer, plan.versions.get(), "record_change_order")
    assert blocking(check(registry, plan)) == {"GATE-PLAN-CHANGE-ORDERED"}


def test_physician_not_listed(registry, plan, org):
    other = PhysicianFactory(organisation=org)
    assert blocking(check(registry, plan, physician=other)) == {"GATE-PHYSICIAN-NOT-LISTED"}


def test_physician_may_be_given_as_the_staff_user(registry, plan):
    assert check(registry, plan, physician=registry["physician"].user).allowed


def test_cell_source_not_in_plan(registry, plan):
    assert blocking(check(registry, plan, cell_source="allogeneic")) == {
        "GATE-CELL-SOURCE-NOT-IN-PLAN"
    }


def test_indication_not_in_plan(registry, plan):
    """The patient's diagnosis (knee OA) is not what the plan targets (Alzheimer's)."""
    patient = registry["patient"]
    patient.diagnosis_code = "knee_osteoarthritis"
    patient.save()
    result = check(registry, plan)
    assert blocking(result) == {"GATE-INDICATION-NOT-IN-PLAN"}
    message = next(f.message for f in result.findings if f.rule == "GATE-INDICATION-NOT-IN-PLAN")
    assert (
        "Osteoarthritis of the knee (ICD-10 M17)" in message
        and "knee_osteoarthritis" not in message
    )


def test_a_stated_indication_is_checked_against_the_record_and_the_plan(registry, plan):
    assert blocking(check(registry, plan, indication="Knee osteoarthritis")) == {
        "GATE-FACT-CONFLICTS-RECORD",
        "GATE-INDICATION-NOT-IN-PLAN",
    }
    assert check(registry, plan, indication="alzheimer's  disease").allowed
    assert check(registry, plan, indication="G30.1").allowed


def test_indication_unknown_when_the_patient_has_no_coded_diagnosis(registry, plan):
    patient = registry["patient"]
    patient.diagnosis_code = ""
    patient.save()
    assert blocking(check(registry, plan)) == {"GATE-INDICATION-UNKNOWN"}


def test_physician_unknown_when_none_is_named(registry, plan):
    assert blocking(check(registry, plan, physician=None)) == {"GATE-PHYSICIAN-UNKNOWN"}


def test_cell_source_unknown_when_not_stated_and_not_recorded(registry, plan):
    assert blocking(check(registry, plan, cell_source=None)) == {"GATE-CELL-SOURCE-UNKNOWN"}


def test_route_unknown_when_not_stated_and_not_recorded(registry, plan):
    assert blocking(check(registry, plan, route=None)) == {"GATE-ROUTE-UNKNOWN"}


def test_cpc_unknown_when_not_named_and_not_recorded(registry, plan):
    """The plan's own facility is never taken for the act's."""
    assert blocking(check(registry, plan, facility=None)) == {"GATE-CPC-UNKNOWN"}


def test_route_not_in_plan(registry, plan):
    assert blocking(check(registry, plan, route="intrathecal")) == {"GATE-ROUTE-NOT-IN-PLAN"}


@pytest.mark.parametrize("dose", [99_999_999, 300_000_001])
def test_dose_outside_plan(registry, plan, dose):
    assert blocking(check(registry, plan, dose_cells=dose)) == {"GATE-DOSE-OUTSIDE-PLAN"}


def test_dose_unknown_when_not_stated_and_no_bag_is_named(registry, plan):
    assert blocking(check(registry, plan, dose_cells=None)) == {"GATE-DOSE-UNKNOWN"}


def test_administration_limit(registry, plan):
    result = check(registry, plan, administration_number=6)
    assert "GATE-ADMINISTRATION-LIMIT" in blocking(result)
    assert "GATE-ADMINISTRATION-SEQUENCE" in {f.rule for f in result.findings}


def test_administrations_counted_by_treatment(registry, plan, monkeypatch):
    monkeypatch.setattr("saisei.regulatory.services.gate._administrations_given", lambda **kw: 5)
    assert "GATE-ADMINISTRATION-LIMIT" in blocking(check(registry, plan, administration_number=6))


def test_cpc_not_listed(registry, plan, org):
    other = FacilityFactory(organisation=org)
    assert blocking(check(registry, plan, facility=other)) == {"GATE-CPC-NOT-LISTED"}


def test_cpc_authorisation_expired(officer, registry, plan):
    facility = registry["facility"]
    services.facility_authorisation_end(
        actor=officer,
        record=facility.authorisations.get(),
        ended_on=TODAY - D(1),
        reason="withdrawn",
    )
    assert blocking(check(registry, plan)) == {"GATE-CPC-NOT-AUTHORISED"}


def test_the_gate_does_not_answer_when_journey_cannot(officer, registry, monkeypatch):
    """No fallback: if no app answers for consent the check fails, it never guesses."""
    from saisei.core import registry as app_registry

    plan = plan_in_force(officer, registry)
    facts = {k: v for k, v in app_registry._gate_facts().items() if k != "consent_status"}
    monkeypatch.setattr(app_registry, "_gate_facts", lambda: facts)
    with pytest.raises(ImproperlyConfigured):
        check(registry, plan)


@pytest.mark.parametrize("status", ["missing", "withdrawn"])
def test_consent_missing_or_withdrawn(officer, registry, monkeypatch, status):
    plan = plan_in_force(officer, registry)
    monkeypatch.setattr("saisei.regulatory.services.gate._consent_status", lambda **kw: status)
    assert blocking(check(registry, plan)) == {"GATE-CONSENT-NOT-VALID"}


def test_overdue_periodic_report_warns_but_allows(registry, plan):
    ObligationFactory(
        plan=plan, rule_id="PERIODIC-REPORT", kind="periodic_report", due_date=TODAY - D(3)
    )
    result = check(registry, plan)
    assert result.allowed
    assert [f.rule for f in result.findings] == ["GATE-PERIODIC-REPORT-OVERDUE"]


def test_gate_require_refuses_with_422_and_every_finding_and_keeps_the_refusal(registry, plan):
    with pytest.raises(services.GateRefused) as exc:
        services.gate_require(**{**_args(registry, plan), "route": "intrathecal"})
    assert exc.value.status_code == 422
    assert exc.value.code == "compliance_gate_refused"
    message, source = exc.value.fields["GATE-ROUTE-NOT-IN-PLAN"]
    assert "intrathecal" in message and "ASRM Art. 13" in source
    assert list(exc.value.fields) == ["GATE-ROUTE-NOT-IN-PLAN"]
    refusal = GateRefusal.objects.get()
    assert refusal.rules == ["GATE-ROUTE-NOT-IN-PLAN"]
    assert refusal.plan == plan and refusal.patient_code == registry["patient"].patient_code
    assert services.gate_require(**_args(registry, plan)).allowed
    assert GateRefusal.objects.count() == 1


def test_other_organisation_plan_is_not_found(registry, plan, make_user, other_org):
    with pytest.raises(NotFound):
        check(registry, plan, actor=make_user("physician", other_org))


def test_gate_uses_a_constant_number_of_queries(registry, plan, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        check(registry, plan)


def _args(registry, plan):
    return {
        "actor": None,
        "act": "administration",
        "institution": registry["institution"],
        "physician": registry["physician"],
        "patient": registry["patient"],
        "plan": plan,
        "route": "iv",
        "dose_cells": 200_000_000,
        "administration_number": 1,
        "at": NOW,
        "cell_source": "autologous",
        "facility": registry["facility"],
    }


def test_the_gate_does_not_answer_when_treatment_cannot_count(registry, plan, monkeypatch):
    """No fallback: without treatment's count the gate raises, and the act does not happen."""
    from saisei.core import registry as app_registry
    from saisei.regulatory.services import gate

    monkeypatch.undo()  # the autouse stand-in for treatment's count
    facts = {k: v for k, v in app_registry._gate_facts().items() if k != "administrations_given"}
    monkeypatch.setattr(app_registry, "_gate_facts", lambda: facts)
    with pytest.raises(ImproperlyConfigured):
        gate._administrations_given(patient_id=1, plan_id=1)


def test_other_overdue_report_warns_but_allows(registry, plan):
    ObligationFactory(
        plan=plan, rule_id="AE-COMMITTEE-15D", kind="adverse_event", due_date=TODAY - D(1)
    )
    result = check(registry, plan)
    assert result.allowed
    assert [f.rule for f in result.findings] == ["GATE-REPORT-OVERDUE"]


COVERED_HERE = {
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


def test_every_gate_rule_has_a_service_scenario_here():
    from saisei.regulatory.rules import GATE_RULES

    assert {r.id for r in GATE_RULES} == COVERED_HERE
