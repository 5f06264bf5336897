"""Plan lifecycle: each transition, allowed and refused, read as the rule it enforces."""

from collections import deque
from dataclasses import replace
from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from saisei.core.errors import DomainError, Forbidden
from saisei.core.workflow import no_rule
from saisei.regulatory.lifecycles import PLAN
from saisei.regulatory.rules import PlanFacts, PlanState

TODAY = date(2025, 10, 1)
OFFICER = ["compliance_officer"]
ADMIN = ["org_admin"]


def check_transition(name, state, facts, roles=None):
    """The plan table on the workflow engine, judged on facts alone (no database)."""
    actor = None if roles is None else SimpleNamespace(roles=frozenset(roles))
    return PLAN.check(SimpleNamespace(state=state), name, actor=actor, ctx={"facts": facts})


def available_transitions(state, facts, roles=None):
    actor = None if roles is None else SimpleNamespace(roles=frozenset(roles))
    names = []
    for t in PLAN.available(SimpleNamespace(state=state), actor):
        try:
            check_transition(t.name, state, facts, roles)
        except DomainError:
            continue
        names.append(t.name)
    return names


def effects(name):
    return PLAN.get(name).effects


CLASS2 = PlanFacts(
    today=TODAY,
    risk_class=2,
    computed_risk_class=2,
    committee_kind="specially_certified",
    documents_complete=True,
    submitted_date=date(2025, 9, 1),
    plan_number="PB3250001",
)


def refused(name, state, facts, code, roles=None):
    with pytest.raises(DomainError) as err:
        check_transition(name, state, facts, roles=roles)
    assert err.value.code == code
    return err.value


def test_a_class_2_plan_goes_from_draft_to_in_force_without_waiting():
    state = PlanState.DRAFT
    for name in (
        "submit_for_review",
        "record_favourable_opinion",
        "submit_to_authority",
        "record_acceptance",
        "bring_into_force",
    ):
        state = check_transition(name, state, CLASS2, roles=OFFICER).target
    assert state == PlanState.IN_FORCE


def test_a_plan_with_incomplete_documents_cannot_go_to_the_committee():
    refused(
        "submit_for_review",
        "draft",
        replace(CLASS2, documents_complete=False),
        "plan.documents_incomplete",
    )


def test_class_1_and_2_plans_need_a_specially_certified_committee():
    certified = replace(CLASS2, committee_kind="certified")
    error = refused(
        "record_favourable_opinion", "committee_review", certified, "plan.committee_not_qualified"
    )
    assert "Class 2" in str(error.message)
    refused(
        "record_favourable_opinion",
        "committee_review",
        replace(certified, risk_class=1),
        "plan.committee_not_qualified",
    )


def test_a_class_3_plan_may_be_reviewed_by_a_certified_committee():
    facts = replace(CLASS2, committee_kind="certified", risk_class=3, computed_risk_class=3)
    assert (
        check_transition("record_favourable_opinion", "committee_review", facts).target
        == PlanState.OPINION_FAVOURABLE
    )


def test_a_plan_without_a_class_cannot_record_an_opinion():
    refused(
        "record_favourable_opinion",
        "committee_review",
        replace(CLASS2, risk_class=None),
        "plan.class_missing",
    )


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("record_changes_requested", PlanState.CHANGES_REQUESTED),
        ("record_unfavourable_opinion", PlanState.OPINION_UNFAVOURABLE),
    ],
)
def test_the_committee_may_ask_for_changes_or_give_an_unfavourable_opinion(name, target):
    assert check_transition(name, "committee_review", CLASS2).target == target


@pytest.mark.parametrize("state", ["changes_requested", "opinion_unfavourable"])
def test_after_changes_requested_or_an_unfavourable_opinion_the_plan_is_revised_as_a_draft(state):
    assert check_transition("revise", state, CLASS2).target == PlanState.DRAFT


def test_a_plan_without_a_favourable_opinion_cannot_be_submitted():
    refused("submit_to_authority", "changes_requested", CLASS2, "invalid_transition")
    refused(
        "submit_to_authority",
        "opinion_unfavourable",
        CLASS2,
        "invalid_transition",
    )


def test_a_plan_declaring_a_lower_class_than_computed_cannot_be_submitted():
    facts = replace(CLASS2, risk_class=2, computed_risk_class=1)
    error = refused(
        "submit_to_authority", "opinion_favourable", facts, "plan.declared_class_too_low"
    )
    assert "Class 1" in str(error.message)


def test_a_plan_whose_class_was_never_computed_cannot_be_submitted():
    refused(
        "submit_to_authority",
        "opinion_favourable",
        replace(CLASS2, computed_risk_class=None),
        "plan.classification_missing",
    )


def test_acceptance_needs_the_plan_number_and_submission_date():
    refused(
        "record_acceptance",
        "submitted",
        replace(CLASS2, plan_number=" "),
        "plan.plan_number_missing",
    )
    refused(
        "record_acceptance",
        "submitted",
        replace(CLASS2, submitted_date=None),
        "plan.plan_number_missing",
    )
    check_transition("record_acceptance", "submitted", CLASS2)
    assert "Periodic-report obligations" in effects("record_acceptance")


def test_a_class_1_plan_cannot_come_into_force_before_ninety_days_from_filing():
    submitted = date(2025, 7, 4)
    facts = replace(
        CLASS2,
        risk_class=1,
        computed_risk_class=1,
        submitted_date=submitted,
        today=submitted + timedelta(days=89),
    )
    error = refused("bring_into_force", "accepted", facts, "plan.class1_waiting_period")
    assert "2025-10-02" in str(error.message)
    assert "bring_into_force" not in available_transitions("accepted", facts)
    on_day = replace(facts, today=submitted + timedelta(days=90))
    assert check_transition("bring_into_force", "accepted", on_day).target == PlanState.IN_FORCE


@pytest.mark.parametrize("state", ["submitted", "accepted", "in_force"])
def test_the_authority_may_order_a_change(state):
    assert check_transition("record_change_order", state, CLASS2).target == PlanState.CHANGE_ORDERED


def test_a_plan_under_a_change_order_returns_to_committee_review_once_revised():
    assert (
        check_transition("revise_after_change_order", "change_ordered", CLASS2).target
        == PlanState.COMMITTEE_REVIEW
    )
    refused(
        "revise_after_change_order",
        "change_ordered",
        replace(CLASS2, documents_complete=False),
        "plan.documents_incomplete",
    )


def test_a_plan_in_force_can_be_suspended_and_resumes_only_once_the_suspension_is_lifted():
    assert check_transition("suspend", "in_force", CLASS2).target == PlanState.SUSPENDED
    refused("resume", "suspended", CLASS2, "plan.suspension_not_lifted")
    lifted = replace(CLASS2, suspension_lifted=True)
    assert check_transition("resume", "suspended", lifted).target == PlanState.IN_FORCE


def test_a_minor_change_keeps_the_plan_in_force_and_creates_a_ten_day_notice():
    transition = check_transition("record_minor_change", "in_force", CLASS2)
    assert transition.target == PlanState.IN_FORCE
    assert "notice" in effects("record_minor_change")


def test_a_non_minor_change_opens_a_new_draft_while_this_version_stays_in_force():
    transition = check_transition("start_major_change", "in_force", CLASS2)
    assert transition.target == PlanState.IN_FORCE
    assert "new draft" in effects("start_major_change")
    refused("supersede", "in_force", CLASS2, "plan.successor_not_in_force")
    done = replace(CLASS2, successor_in_force=True)
    assert check_transition("supersede", "in_force", done).target == PlanState.SUPERSEDED


def test_a_class_1_change_version_waits_ninety_days_again():
    new_version = replace(
        CLASS2, risk_class=1, computed_risk_class=1, submitted_date=TODAY - timedelta(days=30)
    )
    refused("bring_into_force", "accepted", new_version, "plan.class1_waiting_period")


@pytest.mark.parametrize("state", ["accepted", "in_force", "suspended", "change_ordered"])
def test_the_administrator_may_discontinue_and_a_ten_day_notice_follows(state):
    transition = check_transition("discontinue", state, CLASS2, roles=ADMIN)
    assert transition.target == PlanState.DISCONTINUED
    assert "notice" in effects("discontinue")


def test_a_compliance_officer_may_not_discontinue_a_plan():
    with pytest.raises(Forbidden) as err:
        check_transition("discontinue", "in_force", CLASS2, roles=OFFICER)
    assert err.value.code == "forbidden"


def test_a_physician_may_not_move_a_plan_at_all():
    with pytest.raises(Forbidden):
        check_transition("submit_for_review", "draft", CLASS2, roles=["physician"])


def test_a_plan_not_yet_submitted_may_be_withdrawn():
    assert check_transition("withdraw", "draft", CLASS2).target == PlanState.CLOSED
    refused("withdraw", "in_force", CLASS2, "invalid_transition")


def test_a_discontinued_plan_closes_only_after_follow_up_and_all_reports():
    refused("close", "discontinued", CLASS2, "plan.follow_up_not_finished")
    followed = replace(CLASS2, follow_up_finished=True, open_obligations=2)
    error = refused("close", "discontinued", followed, "plan.obligations_open")
    assert "2" in str(error.message)
    done = replace(followed, open_obligations=0)
    transition = check_transition("close", "discontinued", done)
    assert transition.target == PlanState.CLOSED
    assert "End-of-provision" in effects("close")


def test_a_closed_plan_cannot_come_back():
    assert available_transitions("closed", CLASS2) == []
    refused("bring_into_force", "closed", CLASS2, "invalid_transition")


def test_an_unknown_transition_or_state_is_refused():
    refused("approve", "draft", CLASS2, "invalid_transition")
    refused("submit_for_review", "approved", CLASS2, "invalid_transition")
    assert available_transitions("approved", CLASS2) == []


def test_available_transitions_respect_roles_and_guards():
    names = available_transitions("in_force", CLASS2, roles=OFFICER)
    assert set(names) == {
        "record_change_order",
        "suspend",
        "record_minor_change",
        "start_major_change",
    }
    assert "discontinue" in available_transitions("in_force", CLASS2, roles=ADMIN)


def test_every_state_is_reachable_from_draft():
    reached, queue = {PlanState.DRAFT}, deque([PlanState.DRAFT])
    while queue:
        state = queue.popleft()
        for t in PLAN.transitions:
            if state in t.sources and t.target not in reached:
                reached.add(t.target)
                queue.append(t.target)
    assert reached == set(PlanState)


def test_every_guard_states_its_rule_and_cites_its_source():
    for transition in PLAN.transitions:
        assert transition.roles
        if transition.guard is not no_rule:
            assert transition.rule, transition.name
            assert transition.source.startswith("ASRM"), transition.name
