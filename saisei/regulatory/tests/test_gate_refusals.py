"""Refused acts are kept and shown as refusals: the gate's list, on the page and in the API,
for the roles that answer for plans and products, in constant queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from saisei.core.timezones import TOKYO
from saisei.regulatory import services
from saisei.regulatory.models import GateRefusal, today_tokyo

from .conftest import plan_in_force

pytestmark = pytest.mark.django_db
NOW = dt.datetime.combine(today_tokyo(), dt.time(10, 0), tzinfo=TOKYO)


def refuse(registry, plan, actor, **kw):
    args = {
        "actor": actor,
        "act": "administration",
        "institution": registry["institution"],
        "physician": registry["physician"],
        "patient": registry["patient"],
        "plan": plan,
        "route": "intrathecal",
        "dose_cells": 200_000_000,
        "administration_number": 1,
        "at": NOW,
        "cell_source": "autologous",
        "facility": registry["facility"],
        "subject": "Infusion 1",
    }
    args.update(kw)
    with pytest.raises(services.GateRefused):
        services.gate_require(**args)


@pytest.fixture
def refusals(officer, registry, consent_valid):
    plan = plan_in_force(officer, registry)
    for _ in range(3):
        refuse(registry, plan, officer)
    refuse(registry, None, officer, act="harvest")
    return plan


@pytest.mark.parametrize(
    "role", ["compliance_officer", "org_admin", "qa_manager", "physician", "committee_reviewer"]
)
def test_the_gate_refusals_page_lists_each_refusal_with_reason_and_source(
    web_for, make_user, org, refusals, role
):
    r = web_for(make_user(role, org)).get(reverse("regulatory:gate_refusal_list"))
    assert r.status_code == 200
    html = r.content.decode()
    assert html.count("The route &#x27;intrathecal&#x27; is not allowed by the plan.") == 3
    assert "ASRM Art. 13" in html and "No plan" in html


@pytest.mark.parametrize("role", ["coordinator", "nurse", "cpc_technician"])
def test_roles_without_oversight_do_not_see_the_list(
    web_for, api_for, make_user, org, refusals, role
):
    user = make_user(role, org)
    assert web_for(user).get(reverse("regulatory:gate_refusal_list")).status_code == 403
    assert api_for(user).get("/compliance/refusals").json()["count"] == 0


def test_the_api_lists_refusals_filtered_by_act_in_constant_queries(
    api_for, officer, refusals, registry, django_assert_max_num_queries
):
    api = api_for(officer)
    with django_assert_max_num_queries(8):
        out = api.get("/compliance/refusals", limit=50).json()
    assert out["count"] == 4
    for _ in range(5):
        refuse(registry, refusals, officer)
    with django_assert_max_num_queries(8):
        out = api.get("/compliance/refusals", limit=50).json()
    assert out["count"] == 9
    harvest = api.get("/compliance/refusals", act="harvest").json()
    assert harvest["count"] == 1 and harvest["items"][0]["rules"] == ["GATE-PLAN-MISSING"]
    item = api.get("/compliance/refusals", act="administration").json()["items"][0]
    assert item["findings"][0]["source"].startswith("ASRM")


def test_refusals_of_another_organisation_are_not_seen(api_for, make_user, other_org, refusals):
    out = api_for(make_user("compliance_officer", other_org)).get("/compliance/refusals").json()
    assert out["count"] == 0
    assert GateRefusal.objects.count() == 4


def test_the_page_keeps_constant_queries(
    web_for, officer, refusals, registry, django_assert_max_num_queries
):
    client = web_for(officer)
    client.get(reverse("regulatory:gate_refusal_list"))
    with django_assert_max_num_queries(20) as small:
        client.get(reverse("regulatory:gate_refusal_list"))
    for _ in range(6):
        refuse(registry, refusals, officer)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("regulatory:gate_refusal_list"))


def test_an_obligation_without_a_plan_shows_on_the_lists(web_for, officer, org):
    services.obligations_for_adverse_event(
        actor=officer,
        plan=None,
        organisation=org,
        subject=("safety.adverseevent", "y"),
        seriousness="death",
        aware_date=today_tokyo(),
    )
    for name in ("regulatory:obligation_list", "regulatory:dashboard"):
        r = web_for(officer).get(reverse(name))
        assert r.status_code == 200
        assert "No provision plan" in r.content.decode()
