"""API basics: authentication, the one error shape, scoping of core endpoints."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from saisei.core.audit import audit_record


def assert_error_shape(resp, status):
    assert resp.status_code == status, resp.content
    body = resp.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def test_me(org, make_user, api_for):
    user = make_user(["physician", "nurse"], org)
    resp = api_for(user).get("/me")
    assert resp.status_code == 200
    assert resp.json()["roles"] == ["nurse", "physician"]
    assert resp.json()["organisation"]["name"] == "Clinic A"


def test_token_request_loads_user_organisation_and_roles_in_one_query(
    org, make_user, django_assert_num_queries
):
    """Token, user, organisation and roles in one query (no session is read); `/me` needs no more."""
    from saisei.core.services import token_create

    user = make_user(["physician", "nurse"], org)
    _, raw = token_create(actor=None, user=user, label="t")
    client = Client()
    client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})  # stamps last_used_at
    with django_assert_num_queries(1):
        resp = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert resp.status_code == 200
    assert resp.json()["roles"] == ["nurse", "physician"]
    assert resp.json()["organisation"]["name"] == "Clinic A"
    assert resp.json()["two_factor_enabled"] is False


def test_token_of_a_user_without_roles_or_organisation(db, django_assert_num_queries):
    """The one-query lookup still answers for a user with no role grant and no organisation."""
    from saisei.core.models import User
    from saisei.core.services import token_authenticate, token_create

    user = User.objects.create_user(username="lonely", password="x-very-long-password-1")
    _, raw = token_create(actor=None, user=user, label="t")
    token_authenticate(raw)  # stamps last_used_at
    with django_assert_num_queries(1):
        found = token_authenticate(raw)
        assert found == user
        assert found.roles == frozenset()
        assert found.organisation is None


def test_token_of_an_inactive_user_is_refused(org, make_user):
    from saisei.core.services import token_create

    user = make_user(["physician"], org)
    _, raw = token_create(actor=None, user=user, label="t")
    user.is_active = False
    user.save(update_fields=["is_active"])
    resp = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert_error_shape(resp, 401)


def test_no_credentials_is_401_in_error_shape(db):
    resp = Client().get("/api/v1/me")
    err = assert_error_shape(resp, 401)
    assert err["code"] == "not_authenticated"


def test_bad_token_is_401(db):
    resp = Client().get("/api/v1/me", headers={"Authorization": "Bearer ssk_nope"})
    assert_error_shape(resp, 401)


def test_revoked_token_is_refused(org, make_user, api_for):
    from saisei.core.models import ApiToken
    from saisei.core.services import token_revoke

    client = api_for(make_user("physician", org))
    token_revoke(actor=None, token=ApiToken.objects.get(), reason="test")
    assert_error_shape(client.get("/me"), 401)


def test_unknown_and_malformed_ids_are_404(org, make_user, api_for):
    client = api_for(make_user("coordinator", org))
    assert_error_shape(client.get(f"/sites/{uuid.uuid4()}"), 404)
    assert_error_shape(client.get("/sites/not-a-uuid"), 404)


def test_other_org_site_is_404(org, other_org, make_user, api_for, clinic_site):
    outsider = api_for(make_user("org_admin", other_org))
    assert_error_shape(outsider.get(f"/sites/{clinic_site.external_id}"), 404)
    assert outsider.get("/sites").json() == []
    insider = api_for(make_user("coordinator", org))
    assert insider.get(f"/sites/{clinic_site.external_id}").status_code == 200


def test_audit_endpoint_requires_role_and_is_scoped(org, other_org, make_user, api_for):
    audit_record(actor=None, organisation=org, action="x.create", subject=("x", "1"))
    audit_record(actor=None, organisation=other_org, action="x.create", subject=("x", "2"))
    assert_error_shape(api_for(make_user("nurse", org)).get("/audit"), 403)
    resp = api_for(make_user("compliance_officer", org)).get("/audit", action="x.")
    assert resp.status_code == 200
    body = resp.json()
    assert body["count"] == 1 and body["items"][0]["subject_id"] == "1"


def test_audit_filter_wrong_type_is_422(org, make_user, api_for):
    resp = api_for(make_user("compliance_officer", org)).get("/audit", limit="many")
    err = assert_error_shape(resp, 422)
    assert "limit" in err["fields"]


@pytest.mark.parametrize("path", ["/regulatory/classify", "/compliance/check", "/scans/parse"])
def test_malformed_json_is_400(org, make_user, api_for, path):
    resp = api_for(make_user("org_admin", org)).post(path, raw="{not json")
    assert_error_shape(resp, 400)


def test_openapi_schema_served(db):
    resp = Client().get("/api/v1/openapi.json")
    assert resp.status_code == 200
    assert resp.json()["info"]["title"] == "Saisei API"
