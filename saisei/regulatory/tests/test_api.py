"""API shapes, errors in the house shape, organisation scoping and constant query counts."""

from __future__ import annotations

import datetime as dt

import pytest

from saisei.regulatory import services
from saisei.regulatory.models import Obligation, today_tokyo
from saisei.regulatory.tests.factories import ObligationFactory

from .conftest import make_plan, plan_in_force

pytestmark = pytest.mark.django_db
TODAY = today_tokyo()
D = dt.timedelta


def test_classify_autologous_adipose_msc_iv_is_class_ii(api_for, officer):
    r = api_for(officer).post(
        "/regulatory/classify",
        {
            "cell_origin": "autologous",
            "cell_type": "somatic_stem",
            "gene_introduced": False,
            "gene_edited": False,
            "cultured": True,
            "homologous_use": False,
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["risk_class"] == 2
    assert {"rule", "text", "source"} == set(body["reasons"][0])


def test_classify_bad_input_is_422_in_the_error_shape(api_for, officer):
    r = api_for(officer).post("/regulatory/classify", {"cell_origin": "martian"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_input"
    assert "cell_origin" in r.json()["error"]["fields"]


def test_malformed_json_is_400(api_for, officer):
    r = api_for(officer).post("/regulatory/classify", raw="{nope")
    assert r.status_code == 400


def test_reporting_clock_for_a_death(api_for, officer):
    r = api_for(officer).post(
        "/regulatory/reporting-clock",
        {"seriousness": "death", "aware_date": "2026-04-01", "plan_submitted_date": "2025-01-10"},
    )
    assert r.status_code == 200
    rows = {(x["recipient"], x["rule"]): x for x in r.json()}
    assert rows[("committee", "AE-COMMITTEE-7D")]["due_date"] == "2026-04-08"
    assert set(next(iter(rows.values()))) >= {"recipient", "due_date", "rule", "source"}


def test_reporting_clock_event_before_plan_is_refused(api_for, officer):
    r = api_for(officer).post(
        "/regulatory/reporting-clock",
        {
            "seriousness": "non_serious",
            "aware_date": "2024-04-01",
            "plan_submitted_date": "2025-01-10",
        },
    )
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "deadline.event_before_plan"


def test_plan_list_detail_and_other_org_404(api_for, officer, registry, make_user, other_org):
    plan = plan_in_force(officer, registry)
    api = api_for(officer)
    r = api.get("/regulatory/plans")
    assert r.status_code == 200 and r.json()["count"] == 1
    assert r.json()["items"][0]["status"] == "in_force"
    r = api.get(f"/regulatory/plans/{plan.external_id}")
    body = r.json()
    assert body["versions"][0]["routes"] == ["iv"]
    assert [t["name"] for t in body["transitions"]][-1] == "bring_into_force"
    assert "suspend" in body["allowed_transitions"]
    stranger = api_for(make_user("compliance_officer", other_org))
    assert stranger.get(f"/regulatory/plans/{plan.external_id}").status_code == 404
    assert stranger.get("/regulatory/plans").json()["count"] == 0
    assert api.get("/regulatory/plans/not-a-uuid").status_code == 404


def test_plan_list_query_count_is_constant(
    api_for, officer, registry, django_assert_max_num_queries
):
    for i in range(4):
        make_plan(officer, registry, title=f"Plan {i}")
    api = api_for(officer)
    with django_assert_max_num_queries(8):
        assert api.get("/regulatory/plans").json()["count"] == 4


def test_transition_refusal_says_why(api_for, officer, registry):
    plan = make_plan(officer, registry)
    r = api_for(officer).post(
        f"/regulatory/plans/{plan.external_id}/transition", {"name": "bring_into_force"}
    )
    assert r.status_code == 409  # unified lifecycle refusal (issue 11)
    assert r.json()["error"]["code"] == "invalid_transition"
    r = api_for(officer).post(
        f"/regulatory/plans/{plan.external_id}/transition", {"name": "submit_for_review"}
    )
    assert r.status_code == 200 and r.json()["status"] == "committee_review"


def test_committee_reviewer_cannot_transition(api_for, officer, registry, make_user, org):
    plan = make_plan(officer, registry)
    r = api_for(make_user("committee_reviewer", org)).post(
        f"/regulatory/plans/{plan.external_id}/transition", {"name": "submit_for_review"}
    )
    assert r.status_code == 403


def test_obligations_filters_and_mark_done(
    api_for, officer, registry, django_assert_max_num_queries
):
    plan = plan_in_force(officer, registry)
    overdue = ObligationFactory(plan=plan, due_date=TODAY - D(2))
    ObligationFactory(plan=plan, due_date=TODAY + D(60))
    api = api_for(officer)
    with django_assert_max_num_queries(8):
        r = api.get("/regulatory/obligations", overdue="true")
    assert [o["external_id"] for o in r.json()["items"]] == [str(overdue.external_id)]
    assert r.json()["items"][0]["status"] == "overdue"
    soon = api.get("/regulatory/obligations", due_within_days=30).json()["items"]
    assert str(overdue.external_id) not in {o["external_id"] for o in soon}
    both = api.get("/regulatory/obligations", due_within_days=30, overdue="true").json()
    assert both["items"][0]["external_id"] == str(overdue.external_id)
    r = api.post(
        f"/regulatory/obligations/{overdue.external_id}/done",
        {"submitted_date": TODAY.isoformat(), "evidence": "receipt 9"},
    )
    assert r.status_code == 200 and r.json()["status"] == "done"
    r = api.post(
        f"/regulatory/obligations/{overdue.external_id}/done",
        {"submitted_date": TODAY.isoformat(), "evidence": "again"},
    )
    assert r.status_code == 409  # unified lifecycle refusal (issue 11)
    assert r.json()["error"]["code"] == "invalid_transition"
    assert Obligation.objects.filter(pk=overdue.pk).exists()


def test_obligation_of_other_org_is_404(api_for, officer, registry, make_user, other_org):
    ob = ObligationFactory(plan=plan_in_force(officer, registry))
    r = api_for(make_user("compliance_officer", other_org)).post(
        f"/regulatory/obligations/{ob.external_id}/done",
        {"submitted_date": TODAY.isoformat(), "evidence": "x"},
    )
    assert r.status_code == 404


def test_registry_lists(api_for, officer, registry):
    api = api_for(officer)
    for path in ("institutions", "committees", "facilities", "physicians"):
        r = api.get(f"/regulatory/{path}")
        assert r.status_code == 200 and r.json()["count"] == 1, path
    assert api.get("/regulatory/facilities").json()["items"][0]["authorised_today"] is True


def test_compliance_check_with_external_ids(api_for, officer, registry, org, monkeypatch):
    monkeypatch.setattr("saisei.regulatory.services.gate._consent_status", lambda **kw: "valid")
    plan = plan_in_force(officer, registry)
    patient = registry["patient"]
    body = {
        "act": "administration",
        "institution_id": str(registry["institution"].external_id),
        "physician_id": str(registry["physician"].external_id),
        "patient_id": str(patient.external_id),
        "plan_id": str(plan.external_id),
        "route": "intrathecal",
        "dose_cells": 200000000,
        "administration_number": 1,
        "cell_source": "autologous",
        "facility_id": str(registry["facility"].external_id),
        "at": f"{TODAY.isoformat()}T10:00:00+09:00",
    }
    r = api_for(officer).post("/compliance/check", body)
    assert r.status_code == 200, r.json()
    out = r.json()
    assert out["allowed"] is False
    assert [f["rule"] for f in out["findings"]] == ["GATE-ROUTE-NOT-IN-PLAN"]
    assert out["findings"][0]["message_ja"]
    r = api_for(officer).post("/compliance/check", {**body, "route": "iv"})
    assert r.json()["allowed"] is True
    r = api_for(officer).post("/compliance/check", {**body, "at": f"{TODAY.isoformat()}T10:00:00"})
    assert r.status_code == 422


def test_compliance_check_names_the_version_in_a_fixed_number_of_queries(
    api_for, officer, registry, django_assert_max_num_queries
):
    plan = plan_in_force(officer, registry)
    body = {
        "act": "administration",
        "institution_id": str(registry["institution"].external_id),
        "physician_id": str(registry["physician"].external_id),
        "patient_id": str(registry["patient"].external_id),
        "plan_id": str(plan.external_id),
        "route": "iv",
        "dose_cells": 200000000,
        "administration_number": 1,
        "at": f"{TODAY.isoformat()}T10:00:00+09:00",
    }
    api = api_for(officer)
    api.post("/compliance/check", body)  # warm: token, caches
    # token; plan, institution, physician, patient; the plan's versions with physicians,
    # facilities and authorisations; obligations, consent, administrations, diagnosis — and
    # the version is the gate's own, not loaded again.
    with django_assert_max_num_queries(12):
        r = api.post("/compliance/check", body)
    assert r.status_code == 200, r.json()
    assert r.json()["plan_version"] == str(plan.versions.get().external_id)


def test_obligations_for_ae_are_available_to_safety(officer, registry):
    plan = plan_in_force(officer, registry)
    obs = services.obligations_for_adverse_event(
        actor=officer,
        plan=plan,
        subject=("safety.adverseevent", "x"),
        seriousness="other_serious",
        aware_date=TODAY,
    )
    assert {o.recipient for o in obs} == {"committee", "ministry", "processing_facility"}


def test_periodic_report_endpoints(api_for, officer, registry, make_user, org):
    plan = plan_in_force(officer, registry, on=TODAY - D(400))
    api = api_for(officer)
    periods = api.get(f"/regulatory/plans/{plan.external_id}/periodic-reports").json()
    assert [p["period_index"] for p in periods] == [1, 2]
    assert periods[0]["report_status"] is None
    r = api.post(f"/regulatory/plans/{plan.external_id}/periodic-reports/1/assemble")
    assert r.status_code == 200 and r.json()["status"] == "draft"
    assert r.json()["data"]["sections"][0]["key"] == "plan"
    r = api.post(f"/regulatory/plans/{plan.external_id}/periodic-reports/7/assemble")
    assert r.status_code == 422
    reviewer = api_for(make_user("committee_reviewer", org))
    r = reviewer.post(f"/regulatory/plans/{plan.external_id}/periodic-reports/1/assemble")
    assert r.status_code == 403


def test_create_and_edit_a_draft_plan(api_for, officer, registry, make_user, org):
    api = api_for(officer)
    body = {
        "title": "Adipose MSC for ALS",
        "institution_id": str(registry["institution"].external_id),
        "target_disease": "ALS",
        "cell_origin": "autologous",
        "cell_type": "somatic_stem",
        "cultured": True,
        "homologous_use": False,
        "routes": ["IV"],
        "committee_id": str(registry["committee"].external_id),
        "physician_ids": [str(registry["physician"].external_id)],
        "facility_ids": [str(registry["facility"].external_id)],
    }
    r = api.post("/regulatory/plans", body)
    assert r.status_code == 200, r.json()
    plan = r.json()
    version = plan["versions"][0]
    assert plan["status"] == "draft" and plan["risk_class"] == 2
    assert version["routes"] == ["iv"] and version["physicians"][0]["name"]
    r = api.post(
        f"/regulatory/plans/{plan['external_id']}/versions/{version['external_id']}",
        {"dose_min_cells": 3, "dose_max_cells": 2},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "plan.dose_range"
    r = api.post(
        f"/regulatory/plans/{plan['external_id']}/versions/{version['external_id']}",
        {"dose_min_cells": 1, "dose_max_cells": 2, "documents_complete": True},
    )
    assert r.json()["versions"][0]["dose_max_cells"] == 2
    reviewer = api_for(make_user("committee_reviewer", org))
    assert reviewer.post("/regulatory/plans", body).status_code == 403


def test_obligation_list_puts_open_work_before_done(api_for, officer, registry):
    plan = plan_in_force(officer, registry)
    done = ObligationFactory(plan=plan, due_date=TODAY - D(30))
    services.obligation_mark_done(
        actor=officer, obligation=done, submitted_date=TODAY, evidence="r"
    )
    items = api_for(officer).get("/regulatory/obligations").json()["items"]
    statuses = [o["status"] for o in items]
    assert statuses[-1] == "done" and "done" not in statuses[:-1]
