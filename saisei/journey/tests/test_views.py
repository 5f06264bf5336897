"""Journey web pages: public inquiry without login, staff screens, portal isolation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from saisei.journey import services
from saisei.journey.models import Inquiry
from saisei.journey.tests.factories import PatientFactory
from saisei.journey.tests.test_services import INQUIRY, PDF, old_token

pytestmark = pytest.mark.django_db


def _post_inquiry(client: Client, org: Any, files: list[Any] | None = None, **extra: Any) -> Any:
    data = {**INQUIRY, "privacy_consent": "on", "form_token": old_token(), "website": "", **extra}
    if files:
        data["records"] = files
    return client.post(f"/journey/inquiry/{org.slug}/?lang=ja", data)


def test_public_inquiry_page_needs_no_login_in_three_languages(org: Any) -> None:
    client = Client()
    for lang in ("en", "ja", "zh-hans"):
        res = client.get(f"/journey/inquiry/{org.slug}/?lang={lang}")
        assert res.status_code == 200
        assert f'lang="{lang}"' in res.content.decode()
    assert 'name="website"' in res.content.decode()  # honeypot present


def test_public_inquiry_submit_gives_reference(org: Any) -> None:
    client = Client()
    res = _post_inquiry(
        client, org, files=[SimpleUploadedFile("letter.pdf", PDF, "application/pdf")]
    )
    assert res.status_code == 302, res.content.decode()[:2000]
    inquiry = Inquiry.objects.get()
    assert inquiry.language == "ja"
    page = client.get(res["Location"])
    assert inquiry.reference in page.content.decode()


def test_bad_upload_keeps_everything_typed(org: Any) -> None:
    client = Client()
    res = _post_inquiry(
        client, org, files=[SimpleUploadedFile("virus.exe", b"MZ\x90", "application/octet-stream")]
    )
    assert res.status_code == 400
    html = res.content.decode()
    from django.utils import translation
    from django.utils.html import escape

    with translation.override("ja"):  # the family wrote in Japanese (?lang=ja)
        expected = translation.gettext(
            "%(name)s is not a file type we accept. Please send PDF, JPEG or PNG files."
        ) % {"name": "virus.exe"}
    assert escape(expected) in html
    for value in ("Wei Chen", "wei@example.test", "MMSE 22 (May 2026)", "March to June"):
        assert value in html
    assert not Inquiry.objects.exists()


def test_missing_field_keeps_everything_typed(org: Any) -> None:
    res = _post_inquiry(Client(), org, diagnosis="")
    assert res.status_code == 400
    assert "MMSE 22 (May 2026)" in res.content.decode()


def test_staff_queue_and_detail(org: Any, coordinator: Any, web_for: Any) -> None:
    from saisei.journey.tests.test_services import submit

    inquiry = submit(org)
    client = web_for(coordinator)
    assert inquiry.reference in client.get("/journey/inquiries/").content.decode()
    res = client.post(f"/journey/inquiries/{inquiry.external_id}/", {"status": "in_review"})
    assert res.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.status == "in_review"


def test_other_org_gets_404_on_staff_pages(
    org: Any, other_org: Any, make_user: Any, web_for: Any, patient: Any
) -> None:
    client = web_for(make_user("coordinator", other_org))
    assert client.get(f"/journey/patients/{patient.external_id}/").status_code == 404
    assert client.get(f"/journey/patients/{patient.external_id}/itinerary/").status_code == 404


def test_patient_timeline_page(coordinator: Any, web_for: Any, patient: Any) -> None:
    res = web_for(coordinator).get(f"/journey/patients/{patient.external_id}/")
    assert res.status_code == 200
    assert patient.patient_code in res.content.decode()


def test_quote_pages_and_pdf(
    coordinator: Any, web_for: Any, patient: Any, plan: Any, price_list: Any
) -> None:
    from saisei.journey.tests.test_services import make_quote

    quote = services.quote_issue(
        actor=coordinator, quote=make_quote(coordinator, patient, plan, price_list)
    )
    client = web_for(coordinator)
    html = client.get(f"/journey/quotes/{quote.external_id}/").content.decode()
    assert 'id="commission-line"' in html and 'id="refunds"' in html and "PB3260001" in html
    pdf = client.get(f"/journey/quotes/{quote.external_id}/pdf/?lang=ja")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_itinerary_page_print_and_ics(coordinator: Any, web_for: Any, patient: Any) -> None:
    client = web_for(coordinator)
    res = client.post(
        f"/journey/patients/{patient.external_id}/itinerary/",
        {
            "earliest_arrival": "2027-03-01",
            "latest_return": "2027-08-31",
            "culture_days": 35,
            "infusions": 2,
            "interval_days": 28,
            "max_stay_days": 90,
        },
    )
    assert res.status_code == 302
    assert (
        client.get(f"/journey/patients/{patient.external_id}/itinerary/print/").status_code == 200
    )
    ics = client.get(f"/journey/patients/{patient.external_id}/itinerary.ics")
    assert ics.status_code == 200 and ics.content.startswith(b"BEGIN:VCALENDAR")
    bad = client.post(
        f"/journey/patients/{patient.external_id}/itinerary/",
        {
            "earliest_arrival": "2027-03-01",
            "latest_return": "2027-03-10",
            "culture_days": 35,
            "infusions": 2,
            "interval_days": 28,
            "max_stay_days": 90,
        },
    )
    assert bad.status_code == 400


# --- portal ----------------------------------------------------------------------------------


def _portal_client(coordinator: Any, patient: Any) -> Client:
    _access, token = services.portal_link_issue(actor=coordinator, patient=patient, send=False)
    client = Client()
    assert client.get(f"/journey/portal/enter/{token}/").status_code == 200  # GET never spends it
    res = client.post(f"/journey/portal/enter/{token}/")
    assert res.status_code == 302
    return client


def test_portal_without_link_shows_nothing(patient: Any) -> None:
    assert Client().get("/journey/portal/").status_code == 403


def test_portal_link_opens_only_its_patient(
    org: Any, coordinator: Any, patient: Any, plan: Any, price_list: Any
) -> None:
    from saisei.journey.tests.test_services import make_quote

    other = PatientFactory(organisation=org)
    mine = services.quote_issue(
        actor=coordinator, quote=make_quote(coordinator, patient, plan, price_list)
    )
    theirs = services.quote_issue(
        actor=coordinator, quote=make_quote(coordinator, other, plan, price_list)
    )
    client = _portal_client(coordinator, patient)
    home = client.get("/journey/portal/")
    assert home.status_code == 200 and mine.number in home.content.decode()
    assert client.get(f"/journey/portal/quotes/{mine.external_id}/").status_code == 200
    assert client.get(f"/journey/portal/quotes/{theirs.external_id}/").status_code == 404
    assert client.get(f"/journey/portal/quotes/{theirs.external_id}/pdf/").status_code == 404
    res = client.post(
        f"/journey/portal/quotes/{theirs.external_id}/", {"accepted_by_name": "X", "agree": "on"}
    )
    assert res.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "issued"
    # A portal session is not a staff session.
    assert client.get(f"/journey/patients/{patient.external_id}/").status_code == 302


def test_family_accepts_quote_in_portal(
    coordinator: Any, patient: Any, plan: Any, price_list: Any
) -> None:
    from saisei.journey.tests.test_services import make_quote

    quote = services.quote_issue(
        actor=coordinator, quote=make_quote(coordinator, patient, plan, price_list)
    )
    client = _portal_client(coordinator, patient)
    res = client.post(
        f"/journey/portal/quotes/{quote.external_id}/", {"accepted_by_name": "", "agree": ""}
    )
    assert res.status_code == 400
    res = client.post(
        f"/journey/portal/quotes/{quote.external_id}/",
        {"accepted_by_name": "Wei Chen", "agree": "on"},
    )
    assert res.status_code == 302
    quote.refresh_from_db()
    assert quote.status == "accepted" and quote.acceptance_evidence["via"] == "portal"


def test_used_link_cannot_open_portal_again(coordinator: Any, patient: Any) -> None:
    _access, token = services.portal_link_issue(actor=coordinator, patient=patient, send=False)
    assert Client().post(f"/journey/portal/enter/{token}/").status_code == 302
    assert Client().post(f"/journey/portal/enter/{token}/").status_code == 400


def test_course_page(
    coordinator: Any, web_for: Any, patient: Any, package: Any, eligible: Any, doctor: Any
) -> None:
    course = services.course_instantiate(
        actor=coordinator,
        patient=patient,
        package=package,
        harvest_date=timezone.localdate() + dt.timedelta(days=20),
        physician=doctor,
    )
    res = web_for(coordinator).get(f"/journey/courses/{course.external_id}/")
    assert res.status_code == 200


def test_home_shows_new_inquiries_to_coordinator(org: Any, coordinator: Any, web_for: Any) -> None:
    from saisei.journey.tests.test_services import submit

    inquiry = submit(org)
    html = web_for(coordinator).get("/").content.decode()
    assert inquiry.reference in html


def test_replan_from_itinerary_page_shows_changes(
    coordinator: Any, web_for: Any, patient: Any
) -> None:
    client = web_for(coordinator)
    url = f"/journey/patients/{patient.external_id}/itinerary/"
    client.post(
        url,
        {
            "earliest_arrival": "2027-03-01",
            "latest_return": "2027-10-31",
            "culture_days": 35,
            "infusions": 2,
            "interval_days": 28,
            "max_stay_days": 90,
        },
    )
    it = patient.itineraries.get()
    harvest = next(
        v["date"] for t in it.plan["trips"] for v in t["visits"] if v["kind"] == "harvest"
    )
    ready = (dt.date.fromisoformat(harvest) + dt.timedelta(days=49)).isoformat()
    res = client.post(url, {"action": "replan", "through": harvest, "culture_ready_by": ready})
    assert res.status_code == 302
    page = client.get(url).content.decode()
    assert 'id="itinerary-changes"' in page


# --- coded diagnosis and the course's facts the gate checks ---------------------------------


def test_the_patient_page_shows_the_coded_diagnosis_and_its_source(
    coordinator: Any, web_for: Any, patient: Any
) -> None:
    html = web_for(coordinator).get(f"/journey/patients/{patient.external_id}/").content.decode()
    assert "Alzheimer&#x27;s disease (ICD-10 G30)" in html
    assert "Correct the diagnosis" not in html  # a coordinator cannot change it


def test_a_patient_without_a_coded_diagnosis_is_flagged(
    org: Any, physician: Any, web_for: Any
) -> None:
    patient = PatientFactory(organisation=org, diagnosis_text="Mild cognitive impairment")
    html = web_for(physician).get(f"/journey/patients/{patient.external_id}/").content.decode()
    assert "Not coded yet" in html and "Record the diagnosis" in html
    assert "Mild cognitive impairment" in html


def test_a_physician_records_the_diagnosis_through_the_form(
    physician: Any, coordinator: Any, web_for: Any, patient: Any
) -> None:
    url = f"/journey/patients/{patient.external_id}/diagnosis/"
    assert web_for(coordinator).get(url).status_code == 403
    assert web_for(coordinator).post(url, {"code": "parkinsons_disease"}).status_code == 403
    client = web_for(physician)
    assert client.get(url).status_code == 200
    res = client.post(url, {"code": "parkinsons_disease", "text": "PD"})
    assert res.status_code == 400  # a correction needs a reason, shown on the form
    assert "Required when a diagnosis is corrected." in res.content.decode()
    res = client.post(url, {"code": "parkinsons_disease", "text": "PD", "reason": "letter"})
    assert res.status_code == 302
    patient.refresh_from_db()
    assert patient.diagnosis_code == "parkinsons_disease"


def test_the_course_form_names_the_facility_the_gate_checks(
    coordinator: Any,
    physician: Any,
    web_for: Any,
    patient: Any,
    package: Any,
    eligible: Any,
    doctor: Any,
    facility: Any,
    consent_doc: Any,
) -> None:
    from saisei.journey.models import TreatmentCourse
    from saisei.journey.tests.conftest import PASSWORD

    services.consent_give(
        actor=physician,
        patient=patient,
        document=consent_doc,
        given_by="patient",
        signer_name="Ming Lee",
        signer_confirms=True,
        password=PASSWORD,
    )
    res = web_for(coordinator).post(
        f"/journey/patients/{patient.external_id}/course/",
        {
            "package": package.pk,
            "harvest_date": (timezone.localdate() + dt.timedelta(days=14)).isoformat(),
            "physician": doctor.pk,
            "facility": facility.pk,
        },
    )
    assert res.status_code == 302, res.content.decode()[:2000]
    course = TreatmentCourse.objects.get()
    assert course.facility == facility and course.status == "scheduled"
    html = web_for(coordinator).get(res["Location"]).content.decode()
    assert facility.name in html
