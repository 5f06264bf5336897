"""Who looked at what (issue 14 item 3): reading a patient's record on each channel leaves one
access-log entry; compliance officers and org admins search it; nobody else reads it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from saisei.core.models import AccessLogEntry, HardDeleteRefused
from saisei.journey.tests.factories import PatientFactory

from .test_api import _quote_payload

UA = "Mozilla/5.0 (X11; Linux x86_64) AccessLogTest/1.0"


def _only_entry() -> AccessLogEntry:
    (entry,) = AccessLogEntry.objects.all()
    return entry


@pytest.fixture
def officer(org: Any, make_user: Any) -> Any:
    return make_user("compliance_officer", org, username="officer")


def test_the_patient_page_is_logged_with_who_what_and_where(
    web_for: Any, coordinator: Any, patient: Any
) -> None:
    res = web_for(coordinator).get(
        f"/journey/patients/{patient.external_id}/",
        HTTP_USER_AGENT=UA,
        REMOTE_ADDR="192.0.2.7",
    )
    assert res.status_code == 200
    e = _only_entry()
    assert (e.actor, e.organisation_id, e.channel) == (coordinator, patient.organisation_id, "web")
    assert (e.subject_type, e.subject_id) == ("journey.patient", str(patient.external_id))
    assert (e.patient_id, e.patient_label) == (str(patient.external_id), patient.patient_code)
    assert e.client_ip == "192.0.2.7" and e.user_agent == UA
    assert e.request_id == res["X-Request-ID"]
    assert timezone.now() - e.at < dt.timedelta(minutes=1)


def test_an_unknown_or_foreign_patient_is_not_logged(
    web_for: Any, coordinator: Any, other_org: Any
) -> None:
    foreign = PatientFactory(organisation=other_org)
    assert web_for(coordinator).get(f"/journey/patients/{foreign.external_id}/").status_code == 404
    assert not AccessLogEntry.objects.exists()


def test_the_patient_list_logs_nothing(
    web_for: Any, api_for: Any, coordinator: Any, patient: Any
) -> None:
    # Lists show codes and names only; the record is read (and logged) on its own page.
    assert web_for(coordinator).get("/journey/patients/").status_code == 200
    assert api_for(coordinator).get("/journey/patients").status_code == 200
    assert not AccessLogEntry.objects.exists()


def test_the_api_patient_read_is_logged(api_for: Any, coordinator: Any, patient: Any) -> None:
    assert api_for(coordinator).get(f"/journey/patients/{patient.external_id}").status_code == 200
    e = _only_entry()
    assert (e.channel, e.subject_type, e.patient_label) == (
        "api",
        "journey.patient",
        patient.patient_code,
    )


def test_quote_pdf_downloads_are_logged_on_web_and_api(
    api_for: Any, web_for: Any, coordinator: Any, patient: Any, plan: Any, price_list: Any
) -> None:
    client = api_for(coordinator)
    qid = client.post("/journey/quotes", _quote_payload(patient, plan, price_list)).json()[
        "external_id"
    ]
    assert client.get(f"/journey/quotes/{qid}/pdf").status_code == 200
    assert web_for(coordinator).get(f"/journey/quotes/{qid}/pdf/").status_code == 200
    entries = list(AccessLogEntry.objects.order_by("id"))
    assert [(e.channel, e.subject_type) for e in entries] == [
        ("api", "journey.quote_pdf"),
        ("web", "journey.quote_pdf"),
    ]
    assert {e.patient_id for e in entries} == {str(patient.external_id)}
    assert "PDF" in entries[0].label


def test_outcomes_page_and_family_report_are_logged(
    web_for: Any, physician: Any, patient: Any
) -> None:
    web = web_for(physician)
    assert web.get(f"/outcomes/patients/{patient.external_id}/").status_code == 200
    res = web.get(f"/outcomes/patients/{patient.external_id}/report.pdf")
    assert res.status_code == 200
    assert [
        e.subject_type for e in AccessLogEntry.objects.filter(patient_id=patient.external_id)
    ] == ["outcomes.family_report_pdf", "outcomes.patient"]


def test_fhir_patient_read_and_everything_are_logged(
    coordinator: Any, patient: Any, client: Any
) -> None:
    from saisei.core.services import token_create

    _, token = token_create(actor=None, user=coordinator, label="fhir")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/fhir/R4/Patient/{patient.external_id}", headers=headers).status_code == 200
    res = client.get(f"/fhir/R4/Patient/{patient.external_id}/$everything", headers=headers)
    assert res.status_code == 200
    assert client.get("/fhir/R4/Patient", headers=headers).status_code == 200  # search: no entry
    entries = list(AccessLogEntry.objects.order_by("id"))
    assert [(e.channel, e.subject_type) for e in entries] == [
        ("fhir", "fhir.Patient"),
        ("fhir", "fhir.Patient/$everything"),
    ]
    assert {e.patient_id for e in entries} == {str(patient.external_id)}
    assert entries[1].patient_label == patient.patient_code


# --- searching the log -------------------------------------------------------------------------


@pytest.fixture
def reads(org: Any, coordinator: Any, physician: Any, api_for: Any) -> dict[str, Any]:
    """Three reads: the coordinator reads two patients, the physician one of them."""
    one = PatientFactory(organisation=org, patient_code="P-ONE")
    two = PatientFactory(organisation=org, patient_code="P-TWO")
    api_for(coordinator).get(f"/journey/patients/{one.external_id}")
    api_for(coordinator).get(f"/journey/patients/{two.external_id}")
    api_for(physician).get(f"/journey/patients/{one.external_id}")
    return {"one": one, "two": two}


def test_officer_searches_by_patient_user_and_dates_in_the_api(
    api_for: Any, officer: Any, coordinator: Any, physician: Any, reads: dict[str, Any]
) -> None:
    client = api_for(officer)
    everything = client.get("/access-log").json()
    assert everything["count"] == 3
    by_code = client.get("/access-log", patient="P-ONE").json()
    assert {i["user"] for i in by_code["items"]} == {coordinator.username, physician.username}
    by_id = client.get("/access-log", patient=str(reads["two"].external_id)).json()
    assert [i["patient_label"] for i in by_id["items"]] == ["P-TWO"]
    by_user = client.get("/access-log", user=physician.username).json()
    assert [i["patient_label"] for i in by_user["items"]] == ["P-ONE"]
    now = timezone.now()
    assert (
        client.get("/access-log", since=(now + dt.timedelta(hours=1)).isoformat()).json()["count"]
        == 0
    )
    assert (
        client.get("/access-log", until=(now - dt.timedelta(hours=1)).isoformat()).json()["count"]
        == 0
    )
    page = client.get("/access-log", limit=2, offset=2).json()
    assert (page["count"], len(page["items"])) == (3, 1)
    # Reading the log is not itself a read of a patient's record.
    assert AccessLogEntry.objects.count() == 3


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 201}, {"offset": -1}, {"offset": 10**12}, {"since": "not-a-date"}],
)
def test_bad_search_input_is_a_422_in_the_error_shape(
    api_for: Any, officer: Any, params: dict[str, Any]
) -> None:
    res = api_for(officer).get("/access-log", **params)
    assert res.status_code == 422
    assert res.json()["error"]["code"]


def test_org_admin_reads_the_log_and_other_roles_are_refused(
    api_for: Any, web_for: Any, make_user: Any, org: Any, reads: dict[str, Any]
) -> None:
    admin = make_user("org_admin", org)
    assert api_for(admin).get("/access-log").json()["count"] == 3
    for role in ("coordinator", "physician", "nurse", "qa_manager", "committee_reviewer"):
        user = make_user(role, org)
        res = api_for(user).get("/access-log")
        assert res.status_code == 403, role
        assert res.json()["error"]["code"] == "forbidden"
        assert web_for(user).get("/access-log/").status_code == 403, role


def test_the_log_is_scoped_to_the_organisation(
    api_for: Any, web_for: Any, make_user: Any, other_org: Any, reads: dict[str, Any]
) -> None:
    foreign_officer = make_user("compliance_officer", other_org)
    assert api_for(foreign_officer).get("/access-log").json()["count"] == 0
    page = web_for(foreign_officer).get("/access-log/")
    assert page.status_code == 200 and b"P-ONE" not in page.content


def test_the_web_page_searches_and_shows_form_errors(
    web_for: Any, officer: Any, physician: Any, reads: dict[str, Any]
) -> None:
    web = web_for(officer)
    res = web.get("/access-log/", {"user": physician.username})
    assert res.status_code == 200
    rows = res.content.decode()
    assert "P-ONE" in rows and "P-TWO" not in rows
    today = timezone.localdate().isoformat()
    assert b"P-TWO" in web.get("/access-log/", {"date_from": today, "date_to": today}).content
    bad = web.get("/access-log/", {"date_from": "2026-13-40"})
    assert bad.status_code == 400 and b"P-ONE" not in bad.content
    backwards = web.get("/access-log/", {"date_from": today, "date_to": "2000-01-01"})
    assert backwards.status_code == 400
    with_ja = web.get("/access-log/", HTTP_ACCEPT_LANGUAGE="ja")
    assert with_ja.status_code == 200


def test_entries_cannot_be_changed_or_deleted(reads: dict[str, Any]) -> None:
    entry = AccessLogEntry.objects.first()
    assert entry is not None
    entry.label = "nothing to see"
    with pytest.raises(HardDeleteRefused):
        entry.save()
    with pytest.raises(HardDeleteRefused):
        entry.delete()
    with pytest.raises(HardDeleteRefused):
        AccessLogEntry.objects.all().delete()


def test_itinerary_print_and_visa_documents_are_logged(
    web_for: Any, coordinator: Any, patient: Any
) -> None:
    client = web_for(coordinator)
    assert client.get(f"/journey/patients/{patient.external_id}/itinerary/print/").status_code in (
        200,
        302,
    )
    assert client.get(f"/journey/patients/{patient.external_id}/visa/").status_code == 200
    kinds = set(AccessLogEntry.objects.values_list("subject_type", flat=True))
    assert {"journey.itinerary_print", "journey.visa"} <= kinds
    assert set(AccessLogEntry.objects.values_list("patient_id", flat=True)) == {
        str(patient.external_id)
    }
