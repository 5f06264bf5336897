"""Plan lifecycle through the service: one scenario per transition, read as a specification."""

from __future__ import annotations

import datetime as dt

import pytest

from saisei.core.errors import DomainError, Forbidden, NotFound
from saisei.core.models import AuditEntry
from saisei.regulatory import services
from saisei.regulatory.models import Obligation, PlanTransition, PlanVersion, today_tokyo
from saisei.regulatory.tests.factories import CommitteeFactory, InstitutionFactory

from .conftest import TO_IN_FORCE, make_plan, plan_in_force, run

pytestmark = pytest.mark.django_db
TODAY = today_tokyo()
D = dt.timedelta


def _v(plan):
    return plan.versions.order_by("-number").first()


def test_new_plan_is_a_draft_with_its_class_computed_from_the_cells(officer, registry):
    plan = make_plan(officer, registry)
    v = _v(plan)
    assert (plan.status, v.state, v.number) == ("draft", "draft", 1)
    assert v.computed_risk_class == 2 and plan.risk_class == 2
    assert {r["rule"] for r in v.classification_reasons} >= {"CLASS2-SOMATIC-STEM"}
    assert AuditEntry.objects.filter(action="plan.create").exists()


def test_class_ii_plan_comes_into_force_on_acceptance_and_every_step_is_logged(officer, registry):
    plan = plan_in_force(officer, registry, on=TODAY - D(5))
    v = _v(plan)
    assert plan.status == "in_force" and v.state == "in_force"
    assert v.in_force_from == TODAY - D(5)
    assert plan.first_submitted_date == TODAY - D(5) and plan.first_accepted_date == TODAY - D(5)
    names = list(PlanTransition.objects.filter(plan=plan).values_list("name", flat=True))
    assert names == [*TO_IN_FORCE, "bring_into_force"]
    # acceptance starts the yearly periodic-report clock
    assert Obligation.objects.filter(plan=plan, rule_id="PERIODIC-REPORT").count() == 1


def test_incomplete_documents_cannot_go_to_the_committee(officer, registry):
    v = _v(make_plan(officer, registry, documents_complete=False))
    with pytest.raises(DomainError) as exc:
        run(officer, v, "submit_for_review")
    assert exc.value.code == "plan.documents_incomplete"


def test_class_ii_plan_needs_a_specially_certified_committee(officer, registry, org):
    registry["committee"] = CommitteeFactory(organisation=org, kind="certified")
    v = _v(make_plan(officer, registry))
    run(officer, v, "submit_for_review")
    with pytest.raises(DomainError) as exc:
        run(officer, v, "record_favourable_opinion")
    assert exc.value.code == "plan.committee_not_qualified"


def test_changes_requested_then_revised_returns_to_draft(officer, registry):
    v = _v(make_plan(officer, registry))
    run(officer, v, "submit_for_review", "record_changes_requested", "revise")
    assert v.state == "draft" and v.opinion_date == TODAY


def test_unfavourable_opinion_can_be_revised_or_withdrawn(officer, registry):
    v = _v(make_plan(officer, registry))
    run(officer, v, "submit_for_review", "record_unfavourable_opinion")
    assert v.state == "opinion_unfavourable"
    run(officer, v, "withdraw")
    assert v.state == "closed" and v.plan.status == "closed"


def test_declared_class_lower_than_computed_cannot_be_submitted(officer, registry):
    v = _v(make_plan(officer, registry, declared_risk_class=3))
    registry["committee"].kind = "specially_certified"
    run(officer, v, "submit_for_review", "record_favourable_opinion")
    with pytest.raises(DomainError) as exc:
        run(officer, v, "submit_to_authority")
    assert exc.value.code == "plan.declared_class_too_low"


def test_acceptance_needs_the_plan_number(officer, registry):
    v = _v(make_plan(officer, registry))
    run(officer, v, "submit_for_review", "record_favourable_opinion", "submit_to_authority")
    with pytest.raises(DomainError) as exc:
        services.plan_transition(actor=officer, version=v, name="record_acceptance")
    assert exc.value.code == "plan.plan_number_missing"


def test_class_i_plan_waits_90_days_from_filing_before_coming_into_force(officer, registry):
    filed = TODAY - D(89)
    plan = make_plan(officer, registry, cell_origin="allogeneic")
    v = _v(plan)
    assert v.declared_risk_class == 1
    run(
        officer,
        v,
        "submit_for_review",
        "record_favourable_opinion",
        "submit_to_authority",
        on=filed,
    )
    run(officer, v, "record_acceptance", on=TODAY - D(60))
    assert v.state == "accepted"  # no automatic entry into force for Class I
    with pytest.raises(DomainError) as exc:
        run(officer, v, "bring_into_force")
    assert exc.value.code == "plan.class1_waiting_period"
    assert (filed + D(90)).isoformat() in str(exc.value.message)


def test_class_i_plan_comes_into_force_on_day_91(officer, registry):
    plan = make_plan(officer, registry, cell_origin="allogeneic")
    v = _v(plan)
    filed = TODAY - D(90)
    run(
        officer,
        v,
        "submit_for_review",
        "record_favourable_opinion",
        "submit_to_authority",
        on=filed,
    )
    run(officer, v, "record_acceptance", on=filed + D(30))
    run(officer, v, "bring_into_force")
    assert v.state == "in_force" and v.in_force_from == TODAY


def test_suspend_and_resume_only_when_lifted(officer, registry):
    v = _v(plan_in_force(officer, registry))
    run(officer, v, "suspend", reason="emergency order")
    assert v.state == "suspended" and v.plan.status == "suspended"
    with pytest.raises(DomainError) as exc:
        run(officer, v, "resume")
    assert exc.value.code == "plan.suspension_not_lifted"
    run(officer, v, "resume", suspension_lifted=True)
    assert v.state == "in_force"


def test_change_order_then_revised_plan_goes_back_to_the_committee(officer, registry):
    v = _v(plan_in_force(officer, registry))
    run(officer, v, "record_change_order", reference="MHLW order 2026-01")
    assert v.plan.status == "change_ordered"
    run(officer, v, "revise_after_change_order")
    assert v.state == "committee_review"


def test_minor_change_edits_the_version_in_force_and_creates_10_day_notices(officer, registry):
    v = _v(plan_in_force(officer, registry))
    run(
        officer,
        v,
        "record_minor_change",
        on=TODAY - D(2),
        changes={"contact_email": "office@clinic.example"},
    )
    v.refresh_from_db()
    assert v.state == "in_force" and v.contact_email == "office@clinic.example"
    log = PlanTransition.objects.get(name="record_minor_change")
    assert log.changes == {"contact_email": ["", "office@clinic.example"]}
    dues = dict(Obligation.objects.filter(kind="minor_change").values_list("rule_id", "due_date"))
    assert dues["MINOR-CHANGE-NOTICE"] == TODAY - D(2) + D(10)


def test_minor_change_that_alters_the_class_is_refused(officer, registry):
    v = _v(plan_in_force(officer, registry))
    with pytest.raises(DomainError) as exc:
        run(officer, v, "record_minor_change", changes={"cell_origin": "allogeneic"})
    assert exc.value.code == "plan.change_not_minor"


def test_non_minor_change_is_reviewed_while_the_old_version_stays_in_force(officer, registry):
    plan = plan_in_force(officer, registry, on=TODAY - D(40))
    v1 = _v(plan)
    v2 = services.plan_transition(
        actor=officer, version=v1, name="start_major_change", reason="add intrathecal route"
    )
    assert v2.number == 2 and v2.state == "draft"
    services.plan_version_update(
        actor=officer, version=v2, routes=["iv", "intrathecal"], documents_complete=True
    )
    with pytest.raises(DomainError) as exc:
        services.plan_transition(actor=officer, version=v1, name="start_major_change")
    assert exc.value.code == "plan.change_in_progress"
    run(officer, v2, "submit_for_review", "record_favourable_opinion", "submit_to_authority")
    v1.refresh_from_db()
    assert v1.state == "in_force"
    run(officer, v2, "record_acceptance")
    v1.refresh_from_db()
    v2.refresh_from_db()
    assert (v1.state, v2.state) == ("superseded", "in_force")
    assert v1.in_force_until == TODAY - D(1)


def test_non_minor_change_of_class_i_plan_needs_a_new_waiting_period(officer, registry):
    plan = make_plan(officer, registry, cell_origin="allogeneic")
    v1 = _v(plan)
    run(officer, v1, *TO_IN_FORCE[:3], on=TODAY - D(200))
    run(officer, v1, "record_acceptance", "bring_into_force", on=TODAY - D(100))
    v2 = run(officer, v1, "start_major_change", on=TODAY - D(20))
    services.plan_version_update(actor=officer, version=v2, documents_complete=True)
    run(officer, v2, *TO_IN_FORCE, on=TODAY - D(10))
    with pytest.raises(DomainError) as exc:
        run(officer, v2, "bring_into_force")
    assert exc.value.code == "plan.class1_waiting_period"
    v1.refresh_from_db()
    assert v1.state == "in_force"


def test_supersede_refused_while_no_successor_is_in_force(officer, registry):
    v = _v(plan_in_force(officer, registry))
    with pytest.raises(DomainError) as exc:
        run(officer, v, "supersede")
    assert exc.value.code == "plan.successor_not_in_force"


def test_only_the_administrator_may_discontinue_and_notices_follow(officer, admin, registry):
    v = _v(plan_in_force(officer, registry))
    with pytest.raises(Forbidden):
        run(officer, v, "discontinue")
    run(admin, v, "discontinue", on=TODAY - D(3), reason="programme ends")
    assert v.plan.status == "discontinued" and v.plan.discontinued_date == TODAY - D(3)
    rules = set(Obligation.objects.filter(plan=v.plan).values_list("rule_id", flat=True))
    assert {"DISCONTINUATION-NOTICE", "DISCONTINUATION-COMMITTEE"} <= rules


def test_close_needs_follow_up_finished_and_no_open_obligation(officer, admin, registry):
    v = _v(plan_in_force(officer, registry))
    run(admin, v, "discontinue")
    with pytest.raises(DomainError) as exc:
        run(officer, v, "close")
    assert exc.value.code == "plan.follow_up_not_finished"
    with pytest.raises(DomainError) as exc:
        run(officer, v, "close", follow_up_end_date=TODAY)
    assert exc.value.code == "plan.obligations_open"
    for ob in Obligation.objects.open().filter(plan=v.plan):
        services.obligation_mark_done(
            actor=officer, obligation=ob, submitted_date=TODAY, evidence="receipt 1"
        )
    run(officer, v, "close", follow_up_end_date=TODAY)
    assert v.state == "closed" and v.plan.status == "closed"
    assert Obligation.objects.open().filter(rule_id="END-OF-PROVISION-NOTICE").count() == 1


def test_a_transition_from_the_wrong_state_is_refused_with_the_reason(officer, registry):
    v = _v(make_plan(officer, registry))
    with pytest.raises(DomainError) as exc:
        run(officer, v, "record_acceptance", plan_number="X")
    assert exc.value.code == "invalid_transition"  # unified lifecycle refusal (issue 11)


def test_future_step_dates_are_refused(officer, registry):
    v = _v(make_plan(officer, registry))
    with pytest.raises(DomainError) as exc:
        run(officer, v, "submit_for_review", on=TODAY + D(1))
    assert exc.value.code == "plan.effective_date_in_future"


def test_committee_reviewer_and_other_organisations_cannot_move_plans(
    officer, registry, make_user, org, other_org
):
    v = _v(make_plan(officer, registry))
    with pytest.raises(Forbidden):
        run(make_user("committee_reviewer", org), v, "submit_for_review")
    with pytest.raises(NotFound):
        run(make_user("compliance_officer", other_org), v, "submit_for_review")


def test_filed_version_cannot_be_edited(officer, registry):
    v = _v(plan_in_force(officer, registry))
    with pytest.raises(DomainError) as exc:
        services.plan_version_update(actor=officer, version=v, tissue="x")
    assert exc.value.code == "plan.version_not_editable"


def test_plan_in_other_institution_org_cannot_be_created(officer, other_org):
    inst = InstitutionFactory(organisation=other_org)
    with pytest.raises(NotFound):
        services.plan_create(
            actor=officer,
            institution=inst,
            title="x",
            cell_origin="autologous",
            cell_type="somatic",
            target_disease="x",
        )


def test_versions_are_numbered(officer, registry):
    plan = plan_in_force(officer, registry)
    run(officer, _v(plan), "start_major_change")
    assert list(PlanVersion.objects.filter(plan=plan).values_list("number", flat=True)) == [1, 2]
