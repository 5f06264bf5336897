"""Web shell: sign-in with throttling, two-factor for the roles that need it, role navigation."""

from __future__ import annotations

import pyotp
import pytest
from django.test import Client
from django.utils import timezone

from saisei.core.tests.factories import TEST_PASSWORD


def login(client, username, password=TEST_PASSWORD):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_login_and_home_shows_role_nav(org, make_user):
    user = make_user("compliance_officer", org)
    c = Client()
    resp = login(c, user.username)
    assert resp.status_code == 302
    home = c.get("/")
    assert home.status_code == 200
    assert b"Audit ledger" in home.content


def test_nurse_does_not_see_audit_ledger(org, make_user, web_for):
    c = web_for(make_user("nurse", org))
    assert b"Audit ledger" not in c.get("/").content
    assert c.get("/audit/").status_code == 403


def test_wrong_password_then_throttled(org, make_user, settings):
    settings.SAISEI_LOGIN_MAX_FAILURES = 3
    user = make_user("physician", org)
    c = Client()
    for _ in range(3):
        resp = login(c, user.username, "wrong-password")
        assert resp.status_code == 400
    resp = login(c, user.username)  # right password, but locked out now
    assert resp.status_code == 400
    assert b"Too many failed attempts" in resp.content


def test_anonymous_redirected_to_login(db):
    resp = Client().get("/")
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]


def test_qa_manager_must_enrol_two_factor(org, make_user):
    user = make_user("qa_manager", org)
    c = Client()
    resp = login(c, user.username)
    assert resp["Location"] == "/accounts/2fa/setup/"
    assert c.get("/")["Location"] == "/accounts/2fa/setup/"
    page = c.get("/accounts/2fa/setup/")
    assert page.status_code == 200
    user.refresh_from_db()
    bad = c.post("/accounts/2fa/setup/", {"code": "000000"})
    assert bad.status_code == 200 and b"not valid" in bad.content
    good = c.post("/accounts/2fa/setup/", {"code": pyotp.TOTP(user.totp_secret).now()})
    assert good.status_code == 302
    assert c.get("/").status_code == 200


def test_enrolled_user_must_pass_code(org, make_user):
    user = make_user("org_admin", org)
    user.totp_secret = pyotp.random_base32()
    user.totp_confirmed_at = timezone.now()
    user.save()
    c = Client()
    resp = login(c, user.username)
    assert resp["Location"].startswith("/accounts/2fa/")
    assert c.get("/").status_code == 302
    c.post("/accounts/2fa/", {"code": pyotp.TOTP(user.totp_secret).now()})
    assert c.get("/").status_code == 200


def test_language_switch_to_japanese(org, make_user, web_for):
    c = web_for(make_user("coordinator", org))
    c.post("/i18n/setlang/", {"language": "ja", "next": "/"})
    resp = c.get("/")
    assert 'lang="ja"' in resp.content.decode()
    assert "ホーム" in resp.content.decode()


def test_user_without_organisation_cannot_sign_in(db, make_user):
    user = make_user("physician", None)
    resp = login(Client(), user.username)
    assert resp.status_code == 400


@pytest.mark.parametrize("path", ["/accounts/login/", "/healthz"])
def test_public_pages(db, path):
    assert Client().get(path).status_code == 200
