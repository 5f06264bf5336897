"""Compliance screens: the dashboard in Japanese, refusals on forms, scoping and read-only roles."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from saisei.regulatory.models import PlanTransition, today_tokyo
from saisei.regulatory.tests.factories import ObligationFactory

from .conftest import make_plan, plan_in_force

pytestmark = pytest.mark.django_db
TODAY = today_tokyo()
D = dt.timedelta


@pytest.fixture
def plan(officer, registry):
    return plan_in_force(officer, registry)


def test_dashboard_lists_overdue_first_then_due_within_30_days(web_for, officer, plan):
    late = ObligationFactory(plan=plan, rule_id="AE-COMMITTEE-7D", due_date=TODAY - D(3))
    soon = ObligationFactory(plan=plan, rule_id="MINOR-CHANGE-NOTICE", due_date=TODAY + D(5))
    ObligationFactory(plan=plan, rule_id="AE-MINISTRY-7D", due_date=TODAY + D(45))
    r = web_for(officer).get(reverse("regulatory:dashboard"))
    assert r.status_code == 200
    html = r.content.decode()
    assert html.index(late.due_date.isoformat()) < html.index(soon.due_date.isoformat())
    assert (TODAY + D(45)).isoformat() not in html
    assert "Overdue" in html and "Adipose MSC for Alzheimer" in html


def test_dashboard_renders_in_japanese(web_for, officer, plan):
    ObligationFactory(plan=plan, rule_id="AE-COMMITTEE-7D", due_date=TODAY + D(2))
    client = web_for(officer)
    r = client.get(reverse("regulatory:dashboard"), HTTP_ACCEPT_LANGUAGE="ja")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'lang="ja"' in html
    assert "死亡または死亡につながるおそれのある症例を委員会に報告してください。" in html


def test_dashboard_query_count_does_not_grow(web_for, officer, plan, django_assert_max_num_queries):
    for i in range(10):
        ObligationFactory(plan=plan, due_date=TODAY + D(i))
    client = web_for(officer)
    with django_assert_max_num_queries(20):
        assert client.get(reverse("regulatory:dashboard")).status_code == 200


def test_dashboard_shows_the_most_urgent_and_counts_the_rest(
    web_for, officer, plan, monkeypatch, django_assert_max_num_queries
):
    """A national network's open duties run to thousands: the page stays bounded, the heading
    counts them all, the overdue notice counts every overdue one, and a link leads to all."""
    from saisei.regulatory import views

    monkeypatch.setattr(views, "DASHBOARD_ROWS", 3)
    for i in range(4):
        ObligationFactory(plan=plan, due_date=TODAY - D(10 - i))  # 4 overdue
    for i in range(2):
        ObligationFactory(plan=plan, due_date=TODAY + D(i + 1))
    client = web_for(officer)
    with django_assert_max_num_queries(20):
        r = client.get(reverse("regulatory:dashboard"))
    html = r.content.decode()
    assert r.status_code == 200
    assert '<span class="count">6</span>' in html
    assert "4 obligations are overdue." in html
    assert html.count((TODAY - D(10)).isoformat()) >= 1
    assert (TODAY + D(1)).isoformat() not in html  # beyond the three most urgent
    assert 'id="obligations-more"' in html and "?status=open" in html
    views.DASHBOARD_ROWS = 50
    html = client.get(reverse("regulatory:dashboard")).content.decode()
    assert 'id="obligations-more"' not in html and '<span class="count">6</span>' in html
    assert "4 obligations are overdue." in html


def test_plan_detail_shows_history_and_version_diff(web_for, officer, plan):
    from saisei.regulatory import services

    v2 = services.plan_transition(
        actor=officer, version=plan.versions.get(), name="start_major_change", reason="add IT"
    )
    services.plan_version_update(actor=officer, version=v2, routes=["intrathecal", "iv"])
    r = web_for(officer).get(reverse("regulatory:plan_detail", args=[plan.external_id]))
    html = r.content.decode()
    assert r.status_code == 200
    assert "Changes from version 1 to version 2" in html
    assert "intrathecal" in html
    assert "Record acceptance and plan number" in html  # history label


def test_refused_transition_is_shown_on_the_form_with_the_reason(web_for, officer, registry):
    plan = make_plan(officer, registry)
    v = plan.versions.get()
    r = web_for(officer).post(
        reverse("regulatory:plan_transition", args=[plan.external_id]),
        {"name": "bring_into_force", "version": str(v.external_id)},
    )
    assert r.status_code == 400
    assert "is not possible while the status is" in r.content.decode()
    assert not PlanTransition.objects.filter(plan=plan).exists()


def test_transition_form_records_a_step(web_for, officer, registry):
    plan = make_plan(officer, registry)
    v = plan.versions.get()
    r = web_for(officer).post(
        reverse("regulatory:plan_transition", args=[plan.external_id]),
        {"name": "submit_for_review", "version": str(v.external_id)},
    )
    assert r.status_code == 302
    v.refresh_from_db()
    assert v.state == "committee_review"


def test_minor_change_through_the_form(web_for, officer, plan):
    v = plan.versions.get()
    r = web_for(officer).post(
        reverse("regulatory:plan_transition", args=[plan.external_id]),
        {
            "name": "record_minor_change",
            "version": str(v.external_id),
            "minor_field": "contact_phone",
            "minor_value": "+81-3-1234-5678",
        },
    )
    assert r.status_code == 302
    v.refresh_from_db()
    assert v.contact_phone == "+81-3-1234-5678"


def test_committee_reviewer_reads_but_cannot_record_steps(web_for, make_user, org, plan):
    reviewer = web_for(make_user("committee_reviewer", org))
    r = reviewer.get(reverse("regulatory:plan_detail", args=[plan.external_id]))
    assert r.status_code == 200 and "Record step" not in r.content.decode()
    r = reviewer.post(
        reverse("regulatory:plan_transition", args=[plan.external_id]),
        {"name": "suspend", "version": str(plan.versions.get().external_id)},
    )
    assert r.status_code == 403


def test_other_organisation_gets_404(web_for, make_user, other_org, plan):
    client = web_for(make_user("compliance_officer", other_org))
    assert client.get(reverse("regulatory:plan_detail", args=[plan.external_id])).status_code == 404


def test_mark_done_form(web_for, officer, plan):
    ob = ObligationFactory(plan=plan, due_date=TODAY)
    url = reverse("regulatory:obligation_done", args=[ob.external_id])
    client = web_for(officer)
    assert client.get(url).status_code == 200
    r = client.post(url, {"submitted_date": TODAY.isoformat(), "evidence": ""})
    assert r.status_code == 400
    r = client.post(url, {"submitted_date": TODAY.isoformat(), "evidence": "receipt 77"})
    assert r.status_code == 302
    ob.refresh_from_db()
    assert ob.status == "done"


def test_registry_and_lists_render(web_for, officer, plan):
    client = web_for(officer)
    for name in ("registry", "plan_list", "obligation_list"):
        assert client.get(reverse(f"regulatory:{name}")).status_code == 200, name
    assert (
        client.get(reverse("regulatory:obligation_list"), {"status": "overdue"}).status_code == 200
    )


def test_home_shows_the_compliance_worklists(web_for, officer, plan):
    ObligationFactory(plan=plan, due_date=TODAY - D(1))
    r = web_for(officer).get(reverse("core:home"))
    assert r.status_code == 200
    assert "Reports due in 30 days or overdue" in r.content.decode()


def test_new_plan_form_creates_a_draft_with_the_computed_class(web_for, officer, registry):
    client = web_for(officer)
    assert client.get(reverse("regulatory:plan_new")).status_code == 200
    r = client.post(
        reverse("regulatory:plan_new"),
        {
            "title": "Adipose MSC for ALS",
            "institution": registry["institution"].pk,
            "target_disease": "ALS",
            "cell_origin": "allogeneic",
            "cell_type": "somatic_stem",
            "cultured": "on",
            "routes": "iv, intrathecal",
            "dose_min_cells": 1000,
            "dose_max_cells": 2000,
            "max_administrations": 3,
            "committee": registry["committee"].pk,
            "physicians": [registry["physician"].pk],
            "facilities": [registry["facility"].pk],
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    from saisei.regulatory.models import ProvisionPlan

    plan = ProvisionPlan.objects.get(title="Adipose MSC for ALS")
    assert plan.risk_class == 1
    assert plan.versions.get().routes == ["intrathecal", "iv"]


def test_edit_draft_shows_refusals_on_the_form(web_for, officer, registry):
    plan = make_plan(officer, registry)
    v = plan.versions.get()
    url = reverse("regulatory:plan_version_edit", args=[plan.external_id, v.external_id])
    client = web_for(officer)
    assert client.get(url).status_code == 200
    r = client.post(
        url,
        {
            "target_disease": "AD",
            "cell_origin": "autologous",
            "cell_type": "somatic_stem",
            "routes": "iv",
            "dose_min_cells": 5,
            "dose_max_cells": 4,
            "max_administrations": 3,
            "committee": registry["committee"].pk,
            "physicians": [registry["physician"].pk],
            "facilities": [registry["facility"].pk],
        },
    )
    assert r.status_code == 400
    assert "The minimum dose is larger than the maximum dose." in r.content.decode()


def test_registry_add_forms(web_for, officer, make_user, org):
    client = web_for(officer)
    r = client.post(
        reverse("regulatory:registry_add", args=["committee"]),
        {"name": "Kanto committee", "kind": "specially_certified", "certification_number": "NA1"},
    )
    assert r.status_code == 302
    r = client.post(
        reverse("regulatory:registry_add", args=["committee"]),
        {"name": "Again", "kind": "specially_certified", "certification_number": "NA1"},
    )
    assert r.status_code == 400  # duplicate number refused on the form
    doctor = make_user("physician", org)
    r = client.post(
        reverse("regulatory:registry_add", args=["physician"]),
        {"user": doctor.pk, "name": "Dr. A", "licence_number": "123"},
    )
    assert r.status_code == 302
    for kind in ("institution", "facility"):
        assert client.get(reverse("regulatory:registry_add", args=[kind])).status_code == 200
    reviewer = web_for(make_user("committee_reviewer", org))
    assert reviewer.get(reverse("regulatory:registry_add", args=["committee"])).status_code == 403


def test_plan_page_offers_possible_steps_and_class_i_first_day(web_for, officer, registry):
    from .conftest import run

    plan = make_plan(officer, registry, cell_origin="allogeneic")
    v = plan.versions.get()
    run(
        officer,
        v,
        "submit_for_review",
        "record_favourable_opinion",
        "submit_to_authority",
        on=TODAY - D(10),
    )
    run(officer, v, "record_acceptance")
    html = (
        web_for(officer)
        .get(reverse("regulatory:plan_detail", args=[plan.external_id]))
        .content.decode()
    )
    assert (TODAY - D(10) + D(90)).isoformat() in html
    assert (
        "Possible now:" in html
        and "Suspend provision" not in html.split("Possible now:")[1].split("</p>")[0]
    )


def test_committee_reviewer_sees_the_dashboard_without_mark_done_links(
    web_for, make_user, org, plan
):
    ObligationFactory(plan=plan, due_date=TODAY + D(3))
    html = (
        web_for(make_user("committee_reviewer", org))
        .get(reverse("regulatory:dashboard"))
        .content.decode()
    )
    assert "Overdue and due in the next 30 days" in html
    assert "Mark done" not in html
