"""Periodic report assembly: data per period, an extension point for outcomes, PDF drafts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from saisei.core.errors import DomainError
from saisei.regulatory import reports, services
from saisei.regulatory.models import Obligation, today_tokyo

from .conftest import plan_in_force

pytestmark = pytest.mark.django_db
TODAY = today_tokyo()
D = dt.timedelta


@pytest.fixture
def plan(officer, registry):
    return plan_in_force(officer, registry, on=TODAY - D(400))


def test_report_for_a_year_with_no_patients_still_assembles(officer, plan):
    report = services.periodic_report_assemble(actor=officer, plan=plan, period_index=1)
    keys = [s["key"] for s in report.data["sections"]]
    assert keys[0] == "plan" and "outcomes" in keys
    treatment = next(s for s in report.data["sections"] if s["key"] == "treatment")
    if treatment["available"]:
        assert dict(treatment["rows"])["Patients treated"] == 0
    assert report.obligation.rule_id == "PERIODIC-REPORT"
    assert report.period_start == TODAY - D(400)


def test_other_apps_can_add_a_section(officer, plan, monkeypatch):
    section = reports.ReportSection(
        "outcomes", "Outcome summary", 50, lambda scope: [("Patients assessed", 3)]
    )
    others = [s for s in reports.sections() if s.key != "outcomes"]
    monkeypatch.setattr(reports, "periodic_report_sections", lambda: [*others, section])
    report = services.periodic_report_assemble(actor=officer, plan=plan, period_index=1)
    outcomes = next(s for s in report.data["sections"] if s["key"] == "outcomes")
    assert outcomes["rows"] == [["Patients assessed", 3]]


def test_review_then_filing_closes_the_obligation(officer, plan):
    report = services.periodic_report_assemble(actor=officer, plan=plan, period_index=1)
    with pytest.raises(DomainError) as exc:
        services.periodic_report_record_submission(
            actor=officer, report=report, submitted_date=TODAY, evidence="x"
        )
    assert exc.value.code == "invalid_transition"  # unified lifecycle refusal (issue 11)
    services.periodic_report_record_review(
        actor=officer, report=report, review_date=TODAY - D(1), opinion="No objection"
    )
    services.periodic_report_record_submission(
        actor=officer, report=report, submitted_date=TODAY, evidence="receipt 5"
    )
    report.refresh_from_db()
    assert report.status == "submitted"
    assert Obligation.objects.get(pk=report.obligation_id).status == "done"
    with pytest.raises(DomainError):
        services.periodic_report_assemble(actor=officer, plan=plan, period_index=1)


def test_unknown_period_is_refused(officer, plan):
    with pytest.raises(DomainError) as exc:
        services.periodic_report_assemble(actor=officer, plan=plan, period_index=9)
    assert exc.value.code == "periodic_report.no_period"


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_pdf_draft_renders_in_both_languages(officer, plan, lang):
    report = services.periodic_report_assemble(actor=officer, plan=plan, period_index=1)
    pdf = reports.report_pdf(report=report, lang=lang)
    assert pdf.startswith(b"%PDF")


def test_report_pages(web_for, officer, plan):
    client = web_for(officer)
    url = reverse("regulatory:periodic_report", args=[plan.external_id, 1])
    assert client.get(url).status_code == 200
    r = client.post(
        reverse("regulatory:periodic_report_action", args=[plan.external_id, 1, "assemble"])
    )
    assert r.status_code == 302
    assert "Patients and administrations" in client.get(url).content.decode()
    pdf = client.get(reverse("regulatory:periodic_report_pdf", args=[plan.external_id, 1]))
    assert pdf["Content-Type"] == "application/pdf"
    data = client.get(reverse("regulatory:periodic_report_data", args=[plan.external_id, 1]))
    assert data.json()["period_start"] == (TODAY - D(400)).isoformat()
    r = client.post(
        reverse("regulatory:periodic_report_action", args=[plan.external_id, 1, "submit"]),
        {"submitted_date": TODAY.isoformat(), "evidence": "x"},
    )
    assert r.status_code == 400  # not reviewed yet


def test_a_reviewed_report_that_is_reassembled_needs_a_new_review(officer, plan, api_for):
    """New data needs the committee's opinion on it: reassembly drops the old review."""
    report = services.periodic_report_assemble(actor=officer, plan=plan, period_index=1)
    services.periodic_report_record_review(
        actor=officer, report=report, review_date=TODAY - D(2), opinion="No objection"
    )
    assert report.status == "committee_reviewed"
    report = services.periodic_report_assemble(actor=officer, plan=plan, period_index=1)
    assert report.status == "draft"
    assert report.committee_review_date is None and report.committee_opinion == ""
    with pytest.raises(DomainError) as exc:
        services.periodic_report_record_submission(
            actor=officer, report=report, submitted_date=TODAY, evidence="receipt 5"
        )
    assert exc.value.code == "invalid_transition" and exc.value.status_code == 409
    assert Obligation.objects.get(pk=report.obligation_id).status == "open"
    # Through the API the same: reassembled after review, the report shows as a draft again.
    api = api_for(officer)
    services.periodic_report_record_review(
        actor=officer, report=report, review_date=TODAY - D(1), opinion="Still fine"
    )
    r = api.post(f"/regulatory/plans/{plan.external_id}/periodic-reports/1/assemble")
    assert r.status_code == 200 and r.json()["status"] == "draft"
    report.refresh_from_db()
    services.periodic_report_record_review(
        actor=officer, report=report, review_date=TODAY, opinion="Reviewed the new data"
    )
    services.periodic_report_record_submission(
        actor=officer, report=report, submitted_date=TODAY, evidence="receipt 6"
    )
    assert report.status == "submitted"


def test_the_plan_annex_names_the_class_and_registry_in_the_reader_language():
    """別紙様式第3's annex in Japanese prints 第二種 and the registry's Japanese names; the
    English review draft keeps the English ones (one snapshot serves both)."""
    from types import SimpleNamespace

    from saisei.regulatory.periodic_report import _names, _risk_class
    from saisei.regulatory.reports import render_value

    institution = SimpleNamespace(name="Sakura Clinic", name_ja="さくらクリニック")
    unnamed = SimpleNamespace(name="Kaede Clinic", name_ja="")
    assert render_value("Risk class", _risk_class(2), "ja")[1] == "第二種"
    assert render_value("Risk class", _risk_class(2), "en")[1] == "Class II"
    assert render_value("Risk class", _risk_class(None), "ja")[1] == "—"
    assert render_value("Medical institution", _names(institution), "ja")[1] == "さくらクリニック"
    assert render_value("Medical institution", _names(institution), "en")[1] == "Sakura Clinic"
    # With no Japanese name recorded the form prints the name as registered.
    assert render_value("Medical institution", _names(unnamed), "ja")[1] == "Kaede Clinic"
