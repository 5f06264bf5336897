"""Absurd input to the API answers a clear 4xx in the documented error shape, never a 500:
huge pages, dates outside years 1..9999, numbers past 64 bits, oversized bodies, the wrong
content type, malformed JSON, and anonymous writes (401, not a CSRF 403)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from saisei.core.tests.test_api import assert_error_shape

PATIENT = {
    "family_name": "Tanaka",
    "given_name": "Hanako",
    "date_of_birth": "1950-04-01",
    "sex": "female",
    "language": "ja",
}


@pytest.fixture
def officer(org, make_user, api_for):
    return api_for(make_user("compliance_officer", org))


@pytest.mark.parametrize("offset", [10**6, 2**63, 10**30])
def test_a_huge_offset_answers_an_empty_page(officer, offset):
    resp = officer.get("/audit", offset=offset)
    assert resp.status_code == 200, resp.content
    assert resp.json()["items"] == []


@pytest.mark.parametrize("limit", [10**9, 2**64, -5, 0])
def test_a_huge_or_negative_limit_is_clamped(officer, limit):
    resp = officer.get("/audit", limit=limit)
    assert resp.status_code == 200, resp.content
    assert 1 <= resp.json()["limit"] <= 200


@pytest.mark.parametrize(
    "since", ["10000-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "+010000-01-01", "9999-99-99"]
)
def test_a_date_outside_years_1_to_9999_is_422(officer, since):
    err = assert_error_shape(officer.get("/audit", since=since), 422)
    assert "since" in err["fields"]


@pytest.mark.parametrize(
    "since", ["0001-01-01T00:00:00+09:00", "0001-01-01T00:00:00-12:00", "9999-12-31T23:59:59-14:00"]
)
def test_dates_at_the_edges_of_the_range_do_not_break_the_server(officer, since):
    resp = officer.get("/audit", since=since, until=since)
    assert resp.status_code in (200, 422), resp.content
    if resp.status_code == 422:
        assert_error_shape(resp, 422)


@pytest.mark.parametrize("dob", ["10000-01-01", "0000-12-31", "0001-01-01", "9999-12-31"])
def test_a_birth_date_out_of_range_is_refused_as_input(org, make_user, api_for, dob):
    client = api_for(make_user("coordinator", org))
    resp = client.post("/journey/patients", {**PATIENT, "date_of_birth": dob})
    assert 400 <= resp.status_code < 500, resp.content
    assert_error_shape(resp, resp.status_code)


@pytest.mark.parametrize("number", [2**63, 2**64 + 1, -(2**63) - 1, 10**40])
def test_an_integer_past_64_bits_is_a_4xx(org, make_user, api_for, number):
    client = api_for(make_user("coordinator", org))
    body = {
        "earliest_arrival": "2027-03-01",
        "latest_return": "2027-06-01",
        "culture_days": number,
        "infusions": number,
        "interval_days": number,
        "max_stay_days": number,
    }
    resp = client.post("/journey/itinerary-preview", body)
    assert resp.status_code == 422, resp.content
    assert_error_shape(resp, 422)
    resp = client.get("/journey/patients", offset=number, limit=number)
    assert resp.status_code in (200, 422), resp.content


def test_a_body_over_the_configured_size_is_413_in_the_error_shape(officer, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
    body = json.dumps({"text": "x" * (3 * 1024 * 1024)})
    resp = officer.post("/regulatory/classify", raw=body)
    err = assert_error_shape(resp, 413)
    assert err["code"] == "too_large" and "2 MB" in err["message"]


def test_a_body_too_big_when_read_inside_the_api_is_413(officer, settings):
    """The guard reads the declared length; Django's own check when the body is read (a
    streamed body without a usable length) maps to the same answer."""
    from django.core.exceptions import RequestDataTooBig

    from saisei.api import api

    handler = api._lookup_exception_handler(RequestDataTooBig())
    assert handler is not None
    resp = handler(Client().get("/api/v1/openapi.json").wsgi_request, RequestDataTooBig())
    assert resp.status_code == 413
    assert json.loads(resp.content)["error"]["code"] == "too_large"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_the_wrong_content_type_is_415(officer, content_type):
    resp = officer.client.post(
        "/api/v1/regulatory/classify",
        json.dumps({"text": "alzheimer"}),
        content_type=content_type,
        headers=officer._headers(),
    )
    err = assert_error_shape(resp, 415)
    assert err["code"] == "unsupported_media_type"


def test_a_json_suffix_type_is_accepted(officer):
    resp = officer.client.post(
        "/api/v1/regulatory/classify",
        "{not json",
        content_type="application/merge-patch+json",
        headers=officer._headers(),
    )
    assert assert_error_shape(resp, 400)["code"] == "malformed_json"


def test_malformed_json_is_400(officer):
    err = assert_error_shape(officer.post("/regulatory/classify", raw='{"text": '), 400)
    assert err["code"] == "malformed_json"


def test_an_anonymous_write_is_401_not_a_csrf_403(db):
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")  # an anonymous session and CSRF cookie, as a browser has
    resp = client.post(
        "/api/v1/journey/patients", json.dumps(PATIENT), content_type="application/json"
    )
    assert assert_error_shape(resp, 401)["code"] == "not_authenticated"


def test_a_signed_in_session_still_needs_the_csrf_token(org, make_user):
    user = make_user("coordinator", org)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    session = client.session
    session["2fa_ok"] = True
    session.save()
    resp = client.post(
        "/api/v1/journey/patients", json.dumps(PATIENT), content_type="application/json"
    )
    assert resp.status_code == 403
