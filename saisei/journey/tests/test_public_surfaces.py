"""The public surfaces under attack: the inquiry form (one-time token, rate limits, streamed
upload cap, type by content), staff opening uploaded records, and portal links."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from saisei.core.errors import Throttled, ValidationFailed
from saisei.journey import services
from saisei.journey.models import Inquiry, InquiryFile
from saisei.journey.tests.test_services import INQUIRY, PDF, old_token, submit

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HTML = b"<!doctype html><html><script>alert(1)</script></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def _post(client: Client, org: Any, **extra: Any) -> Any:
    data = {**INQUIRY, "privacy_consent": "on", "form_token": old_token(), "website": ""}
    data.update(extra)
    return client.post(f"/journey/inquiry/{org.slug}/", data, REMOTE_ADDR="203.0.113.7")


# --- one-time form token -----------------------------------------------------------------


def test_a_form_token_is_used_once_and_a_replay_is_refused(org: Any) -> None:
    token = old_token()
    first = _post(Client(), org, form_token=token)
    assert first.status_code == 302
    replay = _post(Client(), org, form_token=token, contact_email="other@example.test")
    assert replay.status_code == 400
    assert b"already been sent" in replay.content
    assert Inquiry.objects.count() == 1


def test_the_service_refuses_a_replayed_token(org: Any) -> None:
    token = old_token()
    submit(org, form_token=token)
    with pytest.raises(ValidationFailed) as exc:
        submit(org, form_token=token)
    assert exc.value.code == "form_already_sent"


# --- rate limits -------------------------------------------------------------------------


def test_one_address_is_limited_per_hour_with_a_form_error(org: Any, settings: Any) -> None:
    settings.JOURNEY_INQUIRY_MAX_PER_ADDRESS_PER_HOUR = 2
    client = Client()
    for n in range(2):
        assert _post(client, org, contact_email=f"f{n}@example.test").status_code == 302
    refused = _post(client, org, contact_email="f3@example.test")
    assert refused.status_code == 429
    assert b"many inquiries in a short time" in refused.content
    # Another address is not affected.
    other = Client().post(
        f"/journey/inquiry/{org.slug}/",
        {**INQUIRY, "privacy_consent": "on", "form_token": old_token(), "website": ""},
        REMOTE_ADDR="198.51.100.9",
    )
    assert other.status_code == 302


def test_one_email_is_limited_per_day(org: Any, settings: Any) -> None:
    settings.JOURNEY_INQUIRY_MAX_PER_EMAIL_PER_DAY = 1
    submit(org, client_ip="192.0.2.1")
    with pytest.raises(Throttled) as exc:
        submit(
            org,
            client_ip="192.0.2.2",
            data={**INQUIRY, "contact_email": INQUIRY["contact_email"].upper()},
        )
    assert exc.value.code == "inquiry_rate_email"


def test_a_global_cap_per_hour_holds_across_addresses(org: Any, settings: Any) -> None:
    settings.JOURNEY_INQUIRY_MAX_PER_HOUR = 2
    for n in range(2):
        submit(org, client_ip=f"192.0.2.{n}", data={**INQUIRY, "contact_email": f"{n}@x.test"})
    with pytest.raises(Throttled) as exc:
        submit(org, client_ip="192.0.2.99", data={**INQUIRY, "contact_email": "z@x.test"})
    assert exc.value.code == "inquiry_rate_global"


# --- uploads -----------------------------------------------------------------------------


def test_an_upload_over_the_cap_is_dropped_while_streaming(org: Any, settings: Any) -> None:
    settings.JOURNEY_UPLOAD_MAX_BYTES = 1024
    big = SimpleUploadedFile("scan.pdf", PDF + b"0" * 5000, "application/pdf")
    res = _post(Client(), org, records=[big])
    assert res.status_code == 400
    assert b"scan.pdf is too big" in res.content
    assert Inquiry.objects.count() == 0 and InquiryFile.objects.count() == 0


def test_the_upload_handler_stops_counting_bytes_at_the_cap(settings: Any) -> None:
    from django.core.files.uploadhandler import SkipFile

    from saisei.journey.uploads import CappedUploadHandler

    settings.JOURNEY_UPLOAD_MAX_BYTES = 10
    handler = CappedUploadHandler()
    handler.new_file("records", "a.pdf", "application/pdf", None)
    assert handler.receive_data_chunk(b"x" * 10, 0) == b"x" * 10
    with pytest.raises(SkipFile):
        handler.receive_data_chunk(b"x", 10)
    assert handler.too_big == ["a.pdf"]


def test_more_files_than_allowed_are_refused(org: Any, settings: Any) -> None:
    settings.JOURNEY_UPLOAD_MAX_FILES = 1
    files = [SimpleUploadedFile(f"{n}.pdf", PDF, "application/pdf") for n in range(2)]
    res = _post(Client(), org, records=files)
    assert res.status_code == 400
    assert b"at most 1 files" in res.content
    assert Inquiry.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "content"),
    [("page.html", HTML), ("logo.svg", SVG), ("letter.pdf", HTML), ("photo.png", SVG)],
)
def test_files_are_judged_by_content_and_others_refused(
    org: Any, name: str, content: bytes
) -> None:
    res = _post(Client(), org, records=[SimpleUploadedFile(name, content, "application/pdf")])
    assert res.status_code == 400
    assert name.encode() in res.content
    assert InquiryFile.objects.count() == 0


def test_a_file_is_stored_with_the_type_its_content_shows(org: Any) -> None:
    # A PNG named .jpg and claimed as PDF by the browser is stored as the PNG it is.
    upload = SimpleUploadedFile("photo.jpg", PNG, "application/pdf")
    assert _post(Client(), org, records=[upload]).status_code == 302
    record = InquiryFile.objects.get()
    assert record.content_type == "image/png"
    assert record.file.name.endswith(".png") and "photo" not in record.file.name
    assert record.original_name == "photo.jpg"


# --- staff open uploaded records -----------------------------------------------------------


def _inquiry_with_file(org: Any, content: bytes = PDF, name: str = "letter.pdf") -> Any:
    inquiry = submit(org, files=[SimpleUploadedFile(name, content, "text/html")])
    return inquiry, inquiry.files.get()


def test_staff_open_a_record_as_an_attachment_never_inline(
    org: Any, coordinator: Any, web_for: Any
) -> None:
    inquiry, record = _inquiry_with_file(org)
    res = web_for(coordinator).get(
        f"/journey/inquiries/{inquiry.external_id}/files/{record.external_id}/"
    )
    assert res.status_code == 200
    assert res["Content-Disposition"].startswith("attachment")
    assert res["Content-Type"] == "application/pdf"
    assert res["X-Content-Type-Options"] == "nosniff"
    assert b"".join(res.streaming_content) == PDF
    page = web_for(coordinator).get(f"/journey/inquiries/{inquiry.external_id}/")
    assert f"/files/{record.external_id}/".encode() in page.content


def test_records_are_scoped_to_the_organisation_and_role(
    org: Any, other_org: Any, make_user: Any, web_for: Any
) -> None:
    inquiry, record = _inquiry_with_file(org)
    url = f"/journey/inquiries/{inquiry.external_id}/files/{record.external_id}/"
    assert web_for(make_user("coordinator", other_org)).get(url).status_code == 404
    assert web_for(make_user("nurse", org)).get(url).status_code == 403
    assert web_for(make_user("cpc_technician", org)).get(url).status_code == 403
    assert Client().get(url).status_code == 302  # to the sign-in page
    other_inquiry, _r = _inquiry_with_file(org)
    wrong_pair = f"/journey/inquiries/{other_inquiry.external_id}/files/{record.external_id}/"
    assert web_for(make_user("coordinator", org)).get(wrong_pair).status_code == 404


def test_a_stored_path_outside_media_is_not_served(
    org: Any, coordinator: Any, web_for: Any
) -> None:
    inquiry, record = _inquiry_with_file(org)
    InquiryFile.objects.filter(pk=record.pk).update(file="../../../etc/passwd")
    res = web_for(coordinator).get(
        f"/journey/inquiries/{inquiry.external_id}/files/{record.external_id}/"
    )
    assert res.status_code in (400, 404)


# --- portal links --------------------------------------------------------------------------


def test_a_newer_portal_link_ends_the_older_ones(patient: Any, coordinator: Any) -> None:
    first, first_token = services.portal_link_issue(actor=coordinator, patient=patient, send=False)
    opened, opened_token = services.portal_link_issue(
        actor=coordinator, patient=patient, send=False
    )
    services.portal_link_redeem(token=opened_token)
    _new, new_token = services.portal_link_issue(actor=coordinator, patient=patient, send=False)
    first.refresh_from_db()
    opened.refresh_from_db()
    assert first.revoked_at is not None and opened.revoked_at is not None
    for token in (first_token, opened_token):
        with pytest.raises(ValidationFailed) as exc:
            services.portal_link_redeem(token=token)
        assert exc.value.code in ("portal_link_invalid", "portal_link_used")
    assert services.portal_link_redeem(token=new_token).patient == patient


def test_a_portal_session_from_an_older_link_ends_with_a_new_link(
    patient: Any, coordinator: Any
) -> None:
    _a, token = services.portal_link_issue(actor=coordinator, patient=patient, send=False)
    family = Client()
    assert family.post(f"/journey/portal/enter/{token}/").status_code == 302
    assert family.get("/journey/portal/").status_code == 200
    services.portal_link_issue(actor=coordinator, patient=patient, send=False)
    assert family.get("/journey/portal/").status_code != 200
