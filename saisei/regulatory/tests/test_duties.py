"""The CPC licence register (one source of truth for the gate) and the clinic's own duties.

Each test tries to break a promise: an expired or ended licence must refuse the gate, a
complaint cannot close without a response, an action cannot close without evidence, a wrong
role is refused, through the service, the API and the form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from saisei.core.errors import Conflict, Forbidden, ValidationFailed
from saisei.core.timezones import TOKYO
from saisei.regulatory import duties_selectors as ds
from saisei.regulatory import services
from saisei.regulatory.models import (
    CommitteeAction,
    Complaint,
    FacilityAuthorisation,
    Obligation,
    PeriodicCheck,
    today_tokyo,
)
from saisei.regulatory.services.gate import GateRefused
from saisei.regulatory.tests.factories import FacilityFactory

from .conftest import plan_in_force

pytestmark = pytest.mark.django_db
TODAY = today_tokyo()
D = dt.timedelta
NOW = dt.datetime.combine(TODAY, dt.time(10, 0), tzinfo=TOKYO)


def _gate(registry: dict[str, Any], plan: Any, **kw: Any) -> Any:
    args = {
        "actor": None,
        "act": "administration",
        "administration_number": 1,
        "at": NOW,
        "institution": registry["institution"],
        "physician": registry["physician"],
        "patient": registry["patient"],
        "plan": plan,
        "cell_source": "autologous",
        "facility": registry["facility"],
        "route": "iv",
        "dose_cells": 200_000_000,
    }
    args.update(kw)
    return services.gate_check(**args)


def _blocking(result: Any) -> set[str]:
    return {f.rule for f in result.findings if f.severity == "block"}


# --- the licence register is what the gate reads ------------------------------------------


@pytest.fixture
def licensed(officer: Any, registry: dict[str, Any], consent_valid: Any) -> dict[str, Any]:
    """The registry's facility with only a licence that expired yesterday, and a plan naming it."""
    facility = registry["facility"]
    FacilityAuthorisation.objects.filter(facility=facility).update(
        kind="licensed", valid_until=TODAY - D(1)
    )
    plan = plan_in_force(officer, registry)
    return {"facility": facility, "plan": plan}


def test_an_expired_licence_refuses_the_gate(registry, licensed):
    assert _blocking(_gate(registry, licensed["plan"])) == {"GATE-CPC-NOT-AUTHORISED"}


def test_an_expired_licence_refuses_the_act_itself(registry, licensed):
    args = {
        "actor": None,
        "act": "administration",
        "administration_number": 1,
        "at": NOW,
        "institution": registry["institution"],
        "physician": registry["physician"],
        "patient": registry["patient"],
        "plan": licensed["plan"],
        "cell_source": "autologous",
        "facility": registry["facility"],
        "route": "iv",
        "dose_cells": 200_000_000,
    }
    with pytest.raises(GateRefused) as exc:
        services.gate_require(**args)
    assert "GATE-CPC-NOT-AUTHORISED" in exc.value.fields


def test_a_renewal_restores_authorisation_and_closes_the_renewal_reminder(
    officer, registry, licensed
):
    facility = licensed["facility"]
    old = services.facility_authorisation_record(
        actor=officer,
        facility=facility,
        kind="licensed",
        number="KANTO-2021-1",
        scope="Adipose MSC expansion",
        valid_from=TODAY - D(5 * 365),
        valid_until=TODAY - D(1),
    )
    reminder = Obligation.objects.get(
        rule_id="FACILITY-LICENCE-RENEWAL", subject_id=str(old.external_id)
    )
    assert reminder.due_date == TODAY - D(1) - D(90) and reminder.status == "open"
    assert _blocking(_gate(registry, licensed["plan"])) == {"GATE-CPC-NOT-AUTHORISED"}
    new = services.facility_authorisation_record(
        actor=officer,
        facility=facility,
        kind="licensed",
        number="KANTO-2026-1",
        scope="Adipose MSC expansion",
        valid_from=TODAY,
        valid_until=TODAY + D(5 * 365),
        renews=old,
    )
    assert _blocking(_gate(registry, licensed["plan"])) == set()
    reminder.refresh_from_db()
    assert reminder.status == "done" and "KANTO-2026-1" in reminder.evidence
    following = Obligation.objects.get(subject_id=str(new.external_id))
    assert following.due_date == TODAY + D(5 * 365) - D(90) and following.status == "open"


def test_a_facility_with_an_empty_register_is_not_authorised(officer, registry, consent_valid):
    FacilityAuthorisation.objects.filter(facility=registry["facility"]).update(
        voided_at=NOW, void_reason="test"
    )
    plan = plan_in_force(officer, registry)
    assert "GATE-CPC-NOT-AUTHORISED" in _blocking(_gate(registry, plan))


def test_ending_a_licence_early_refuses_from_the_next_day(officer, registry, consent_valid):
    plan = plan_in_force(officer, registry)
    record = registry["facility"].authorisations.get()
    services.facility_authorisation_end(
        actor=officer, record=record, ended_on=TODAY - D(1), reason="revoked"
    )
    assert _blocking(_gate(registry, plan)) == {"GATE-CPC-NOT-AUTHORISED"}
    with pytest.raises(ValidationFailed):
        services.facility_authorisation_end(
            actor=officer, record=record, ended_on=TODAY, reason="revoked"
        )


def test_a_licence_needs_an_expiry_number_and_scope(officer, registry):
    facility = registry["facility"]
    for kw, code in (
        ({"valid_until": None}, "facility_authorisation.expiry_required"),
        ({"number": " "}, "facility_authorisation.number_required"),
        ({"scope": ""}, "facility_authorisation.scope_required"),
    ):
        data = {
            "kind": "licensed",
            "number": "L-1",
            "scope": "MSC",
            "valid_from": TODAY,
            "valid_until": TODAY + D(100),
            **kw,
        }
        with pytest.raises(ValidationFailed) as exc:
            services.facility_authorisation_record(actor=officer, facility=facility, **data)
        assert exc.value.code == code


def test_the_yearly_report_is_owed_per_facility_per_year(officer, org):
    facility = services.facility_create(
        actor=officer,
        name="Two-year CPC",
        authorisation="notified",
        facility_number="FA-2Y",
        manager_name="M",
        valid_from=TODAY - D(2 * 365 + 10),
    )
    reports = Obligation.objects.filter(facility=facility, rule_id="FACILITY-YEARLY-REPORT")
    assert reports.count() == 3  # two full years and the running one
    other = FacilityFactory(organisation=org, valid_from=None)
    services.facility_obligations_refresh(actor=officer, facility=other)
    assert not Obligation.objects.filter(facility=other).exists()


def test_a_facility_change_opens_its_notice_with_a_deadline(officer, registry):
    change = services.facility_change_record(
        actor=officer,
        facility=registry["facility"],
        kind="manager",
        description="New manager",
        change_date=TODAY - D(5),
    )
    notice = Obligation.objects.get(subject_id=str(change.external_id))
    assert notice.rule_id == "FACILITY-CHANGE-NOTICE"
    assert notice.kind == "facility_change"
    assert notice.due_date == TODAY - D(5) + D(30)
    assert "Art. 40" in notice.source and "⚠" in notice.source


def test_the_facility_page_shows_register_changes_and_yearly_report(officer, registry, web_for):
    facility = registry["facility"]
    services.facility_obligations_refresh(actor=officer, facility=facility)
    services.facility_change_record(
        actor=officer, facility=facility, kind="scope", description="Adds PRP", change_date=TODAY
    )
    page = web_for(officer).get(f"/regulatory/facilities/{facility.external_id}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "N-" + facility.facility_number in body
    assert "Adds PRP" in body
    assert "別紙様式第8" in body


def test_the_register_form_refuses_a_wrong_role_and_bad_input(
    officer, make_user, org, registry, web_for
):
    facility = registry["facility"]
    url = f"/regulatory/facilities/{facility.external_id}/authorisations/new/"
    nurse = make_user("nurse", org)
    assert web_for(nurse).post(url, {}).status_code == 403
    bad = web_for(officer).post(
        url, {"kind": "licensed", "number": "L", "scope": "S", "valid_from": TODAY.isoformat()}
    )
    assert bad.status_code == 400
    assert FacilityAuthorisation.objects.filter(facility=facility).count() == 1


def test_the_register_api(officer, make_user, org, registry, api_for):
    facility = registry["facility"]
    path = f"/regulatory/facilities/{facility.external_id}/authorisations"
    api = api_for(officer)
    listed = api.get(path)
    assert listed.status_code == 200 and len(listed.json()) == 1
    refused = api.post(path, {"kind": "licensed", "number": "L", "scope": "S", "valid_from": TODAY})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "facility_authorisation.expiry_required"
    nurse = api_for(make_user("nurse", org))
    assert (
        nurse.post(
            path, {"kind": "notified", "number": "N", "scope": "S", "valid_from": TODAY}
        ).status_code
        == 403
    )
    change = api.post(
        f"/regulatory/facilities/{facility.external_id}/changes",
        {"kind": "manager", "description": "New manager", "change_date": TODAY},
    )
    assert change.status_code == 200
    assert change.json()["notice_due"] == (TODAY + D(30)).isoformat()
    other_org_facility = FacilityFactory()
    assert (
        api.get(
            f"/regulatory/facilities/{other_org_facility.external_id}/authorisations"
        ).status_code
        == 404
    )


# --- complaints ------------------------------------------------------------------------------


def _complaint(officer: Any, days_ago: int = 3) -> Complaint:
    return services.complaint_record(
        actor=officer,
        complainant_kind="patient",
        received_on=TODAY - D(days_ago),
        channel="phone",
        summary="Waited two hours",
        handler=officer,
    )


def test_a_complaint_cannot_be_closed_without_a_response(officer):
    complaint = _complaint(officer)
    with pytest.raises(Conflict) as exc:
        services.complaint_close(actor=officer, complaint=complaint)
    assert exc.value.code == "invalid_transition"
    with pytest.raises(Conflict) as exc:
        services.complaint_respond(
            actor=officer, complaint=complaint, response="  ", responded_on=TODAY
        )
    assert exc.value.code == "complaint.response_required"
    with pytest.raises(Conflict):
        services.complaint_respond(
            actor=officer, complaint=complaint, response="Sorry", responded_on=TODAY - D(10)
        )
    services.complaint_respond(
        actor=officer, complaint=complaint, response="Apologised", responded_on=TODAY
    )
    closed = services.complaint_close(actor=officer, complaint=complaint)
    assert closed.status == "closed" and closed.closed_on == today_tokyo()


def test_complaints_refuse_the_wrong_role(make_user, org, officer):
    physician = make_user("physician", org)
    with pytest.raises(Forbidden):
        _complaint(physician)
    complaint = _complaint(officer)
    with pytest.raises(Forbidden):
        services.complaint_respond(
            actor=physician, complaint=complaint, response="x", responded_on=TODAY
        )
    assert ds.complaint_list(actor=physician).count() == 0


def test_an_old_open_complaint_shows_on_the_dashboard(officer, web_for):
    old = _complaint(officer, days_ago=40)
    _complaint(officer, days_ago=2)
    assert [c.pk for c in ds.complaints_open_too_long(actor=officer)] == [old.pk]
    page = web_for(officer).get("/regulatory/")
    assert old.reference in page.content.decode()


def test_complaint_api_and_form(officer, make_user, org, api_for, web_for):
    api = api_for(officer)
    made = api.post(
        "/regulatory/complaints",
        {
            "complainant_kind": "family",
            "received_on": TODAY,
            "channel": "email",
            "summary": "Letter late",
            "handler": officer.username,
        },
    )
    assert made.status_code == 200, made.content
    ext = made.json()["external_id"]
    refused = api.post(f"/regulatory/complaints/{ext}/close")
    assert refused.status_code == 409
    assert api_for(make_user("nurse", org)).get("/regulatory/complaints").status_code == 403
    form = web_for(officer).post(f"/regulatory/duties/complaints/{ext}/respond/", {"response": ""})
    assert form.status_code == 400
    ok = web_for(officer).post(
        f"/regulatory/duties/complaints/{ext}/respond/",
        {"response": "Apologised", "responded_on": TODAY.isoformat()},
    )
    assert ok.status_code == 302
    assert api.post(f"/regulatory/complaints/{ext}/close").json()["status"] == "closed"


# --- periodic checks -------------------------------------------------------------------------


def test_only_the_assignee_signs_a_check_off_with_findings(officer, make_user, org, web_for):
    doctor = make_user("physician", org)
    other = make_user("physician", org)
    check = services.periodic_check_schedule(
        actor=officer,
        checker="responsible_physician",
        assignee=doctor,
        title="Monthly review",
        due_date=TODAY + D(3),
        interval_days=30,
    )
    with pytest.raises(Forbidden):
        services.periodic_check_sign_off(
            actor=other, check=check, performed_on=TODAY, findings="fine"
        )
    with pytest.raises(Forbidden):
        services.periodic_check_sign_off(
            actor=officer, check=check, performed_on=TODAY, findings="fine"
        )
    with pytest.raises(Conflict):
        services.periodic_check_sign_off(actor=doctor, check=check, performed_on=TODAY, findings="")
    # The physician sees their own check, not the others'.
    assert list(ds.check_list(actor=doctor)) == [check]
    assert list(ds.check_list(actor=other)) == []
    page = web_for(doctor).get("/regulatory/duties/")
    assert page.status_code == 200 and "Monthly review" in page.content.decode()
    signed = services.periodic_check_sign_off(
        actor=doctor, check=check, performed_on=TODAY, findings="All administrations in plan."
    )
    assert signed.status == "signed_off" and signed.signed_off_by == doctor
    following = PeriodicCheck.objects.exclude(pk=check.pk).get()
    assert following.due_date == TODAY + D(33) and following.status == "due"


def test_a_check_is_assigned_to_someone_holding_the_role(officer, make_user, org):
    nurse = make_user("nurse", org)
    with pytest.raises(ValidationFailed):
        services.periodic_check_schedule(
            actor=officer,
            checker="responsible_physician",
            assignee=nurse,
            title="Review",
            due_date=TODAY,
        )


# --- committee opinions ----------------------------------------------------------------------


def test_an_action_cannot_be_closed_without_evidence(officer, registry, web_for, api_for):
    opinion = services.committee_opinion_record(
        actor=officer,
        committee=registry["committee"],
        opinion_date=TODAY - D(3),
        summary="Improve follow-up",
        actions=[("Write a contact plan", officer, TODAY + D(10))],
    )
    action = opinion.actions.get()
    with pytest.raises(Conflict) as exc:
        services.committee_action_close(actor=officer, action=action, evidence=" ", closed_on=TODAY)
    assert exc.value.code == "committee_action.evidence_required"
    api = api_for(officer)
    refused = api.post(
        f"/regulatory/committee-actions/{action.external_id}/close",
        {"evidence": "", "closed_on": TODAY},
    )
    assert refused.status_code == 409
    form = web_for(officer).post(
        f"/regulatory/duties/actions/{action.external_id}/close/",
        {"evidence": "", "closed_on": TODAY.isoformat()},
    )
    assert form.status_code == 400
    assert ds.duties_dashboard(actor=officer)["open_actions"] == [action]
    assert "Write a contact plan" in web_for(officer).get("/regulatory/").content.decode()
    done = api.post(
        f"/regulatory/committee-actions/{action.external_id}/close",
        {"evidence": "Plan FC-07 issued", "closed_on": TODAY},
    )
    assert done.status_code == 200 and done.json()["status"] == "closed"
    assert CommitteeAction.objects.get(pk=action.pk).closed_by == officer


def test_opinions_refuse_the_wrong_role(make_user, org, registry, api_for):
    qa = make_user("qa_manager", org)
    with pytest.raises(Forbidden):
        services.committee_opinion_record(
            actor=qa, committee=registry["committee"], opinion_date=TODAY, summary="x"
        )
    assert api_for(qa).get("/regulatory/committee-opinions").status_code == 403


def test_duties_page_keeps_a_constant_number_of_queries(
    officer, registry, web_for, django_assert_max_num_queries
):
    for i in range(4):
        _complaint(officer, days_ago=i)
        services.committee_opinion_record(
            actor=officer,
            committee=registry["committee"],
            opinion_date=TODAY,
            summary=f"Opinion {i}",
            actions=[("Act", officer, None), ("Act again", officer, None)],
        )
    client = web_for(officer)
    client.get("/regulatory/duties/")
    with django_assert_max_num_queries(20):
        assert client.get("/regulatory/duties/").status_code == 200
