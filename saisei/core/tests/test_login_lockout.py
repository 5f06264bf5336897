"""Sign-in lockout keyed on account plus client address, the address read through configured
trusted proxies only; a lockout never shuts out everyone behind one proxy."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from saisei.core.middleware import client_ip
from saisei.core.tests.factories import TEST_PASSWORD

PROXY = "10.0.0.5"


def _login(username, password, *, remote=PROXY, forwarded=None):
    headers = {"REMOTE_ADDR": remote}
    if forwarded:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return Client().post(
        "/accounts/login/", {"username": username, "password": password}, **headers
    )


@pytest.fixture
def behind_proxy(settings):
    settings.SAISEI_TRUSTED_PROXIES = ["10.0.0.0/24"]
    settings.SAISEI_LOGIN_MAX_FAILURES = 3
    settings.SAISEI_LOGIN_ACCOUNT_MAX_FAILURES = 6


def _addr(remote, forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **meta))


def test_forwarded_for_is_ignored_from_an_untrusted_peer(settings):
    settings.SAISEI_TRUSTED_PROXIES = ["10.0.0.0/24"]
    assert _addr("198.51.100.1", "203.0.113.9") == "198.51.100.1"
    settings.SAISEI_TRUSTED_PROXIES = []
    assert _addr(PROXY, "203.0.113.9") == PROXY


def test_behind_a_trusted_proxy_the_nearest_untrusted_hop_is_the_client(settings):
    settings.SAISEI_TRUSTED_PROXIES = ["10.0.0.0/24", "2001:db8::1"]
    assert _addr(PROXY, "203.0.113.9") == "203.0.113.9"
    # The client wrote the left part itself; only the hop our proxy saw counts.
    assert _addr(PROXY, "1.2.3.4, 203.0.113.9") == "203.0.113.9"
    assert _addr(PROXY, "203.0.113.9, 10.0.0.7") == "203.0.113.9"
    assert _addr("2001:db8::1", "2001:db8::beef") == "2001:db8::beef"
    assert _addr(PROXY, "not-an-address") == PROXY
    assert _addr(PROXY, "") == PROXY


def test_a_lockout_is_per_account_and_address(org, make_user, behind_proxy):
    victim = make_user("physician", org)
    colleague = make_user("nurse", org)
    attacker = "203.0.113.66"
    for _ in range(3):
        assert _login(victim.username, "wrong-password", forwarded=attacker).status_code == 400
    locked = _login(victim.username, TEST_PASSWORD, forwarded=attacker)
    assert locked.status_code == 400 and b"Too many failed attempts" in locked.content
    # The same account from another address behind the same proxy still signs in...
    assert _login(victim.username, TEST_PASSWORD, forwarded="203.0.113.10").status_code == 302
    # ...and so does every other user coming through that proxy, even from the attacker's address.
    assert _login(colleague.username, TEST_PASSWORD, forwarded=attacker).status_code == 302


def test_many_failures_behind_one_proxy_do_not_lock_out_everyone(org, make_user, behind_proxy):
    users = [make_user("coordinator", org) for _ in range(5)]
    # Without a forwarded address every request looks like the proxy's own address.
    for user in users[:4]:
        for _ in range(3):
            _login(user.username, "wrong-password")
    assert _login(users[4].username, TEST_PASSWORD).status_code == 302


def test_an_account_attacked_from_many_addresses_locks_past_the_higher_bound(
    org, make_user, behind_proxy
):
    victim = make_user("physician", org)
    for n in range(6):
        _login(victim.username, "wrong-password", forwarded=f"203.0.113.{n}")
    locked = _login(victim.username, TEST_PASSWORD, forwarded="198.51.100.200")
    assert locked.status_code == 400 and b"Too many failed attempts" in locked.content


def test_failures_record_the_client_address_behind_the_proxy(org, make_user, behind_proxy):
    from saisei.core.models import LoginFailure

    victim = make_user("physician", org)
    _login(victim.username, "wrong-password", forwarded="203.0.113.5")
    assert LoginFailure.objects.get().client_ip == "203.0.113.5"
