"""Electronic signatures and the second factor: every factor, and each code accepted once.

RFC 6238 §5.2: a verifier must not accept the second attempt of a code once it was accepted.
The signature service refuses a missing code exactly like a wrong or reused one.
"""

from __future__ import annotations

import threading
from typing import Any

import pyotp
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from saisei.core import services
from saisei.core.errors import ValidationFailed
from saisei.core.models import User
from saisei.core.tests.esign import EXPECTED_REFUSAL, enrol, fresh_code, spent_code, wrong_code
from saisei.core.tests.factories import TEST_PASSWORD


def _refusal(user: Any, otp: str | None) -> dict[str, Any]:
    with pytest.raises(ValidationFailed) as exc:
        services.signature_verify(actor=user, password=TEST_PASSWORD, meaning="I sign", otp=otp)
    return exc.value.as_dict()["error"]


@pytest.mark.django_db
def test_missing_wrong_and_reused_codes_are_one_refusal(org: Any, make_user: Any) -> None:
    user = enrol(make_user("qa_manager", org))
    refusals = [
        _refusal(user, None),
        _refusal(user, ""),
        _refusal(user, "   "),
        _refusal(user, wrong_code(user)),
        _refusal(user, "12345"),  # malformed
        _refusal(user, "x" * 60),
        _refusal(user, spent_code(user)),
    ]
    assert all(r == EXPECTED_REFUSAL for r in refusals), refusals


@pytest.mark.django_db
def test_a_current_code_signs_once(org: Any, make_user: Any) -> None:
    user = enrol(make_user("qa_manager", org))
    code = fresh_code(user)
    sig = services.signature_verify(actor=user, password=TEST_PASSWORD, meaning="I sign", otp=code)
    assert sig.username == user.username and sig.meaning == "I sign"
    assert _refusal(user, code) == EXPECTED_REFUSAL


@pytest.mark.django_db
def test_an_older_code_is_refused_once_a_later_one_was_used(org: Any, make_user: Any) -> None:
    user = enrol(make_user("qa_manager", org))
    totp = pyotp.TOTP(user.totp_secret)
    now = totp.timecode(timezone.now())
    assert services.totp_consume(user=user, code=totp.generate_otp(now))
    # The previous step's code is still inside the drift window, but it is older than one used.
    assert not services.totp_consume(user=user, code=totp.generate_otp(now - 1))
    assert services.totp_consume(user=user, code=totp.generate_otp(now + 1))


@pytest.mark.django_db
def test_codes_outside_the_window_are_refused(org: Any, make_user: Any) -> None:
    user = enrol(make_user("qa_manager", org))
    totp = pyotp.TOTP(user.totp_secret)
    now = totp.timecode(timezone.now())
    for step in (now - 3, now - 2, now + 2, now + 3):
        code = totp.generate_otp(step)
        if code not in {totp.generate_otp(s) for s in (now - 1, now, now + 1)}:
            assert not services.totp_consume(user=user, code=code)
    assert User.objects.get(pk=user.pk).totp_last_step is None


@pytest.mark.django_db
def test_a_wrong_password_does_not_spend_the_code(org: Any, make_user: Any) -> None:
    user = enrol(make_user("qa_manager", org))
    code = fresh_code(user)
    with pytest.raises(ValidationFailed) as exc:
        services.signature_verify(actor=user, password="wrong", meaning="I sign", otp=code)
    assert exc.value.code == "signature_password_invalid"
    services.signature_verify(actor=user, password=TEST_PASSWORD, meaning="I sign", otp=code)


@pytest.mark.django_db
def test_a_user_without_two_factor_signs_with_the_password(org: Any, make_user: Any) -> None:
    user = make_user("physician", org)
    sig = services.signature_verify(actor=user, password=TEST_PASSWORD, meaning="I sign")
    assert sig.user_id == user.pk
    # An enrolment never confirmed is not a factor yet: the password alone signs.
    services.totp_begin(user=user)
    services.signature_verify(actor=user, password=TEST_PASSWORD, meaning="I sign")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["qa_manager", "org_admin"])
def test_a_role_that_requires_two_factors_cannot_sign_before_enrolling(
    org: Any, make_user: Any, role: str
) -> None:
    """QA and administrators sign with two factors: not enrolled yet is not a way round it."""
    user = make_user(role, org)
    assert user.two_factor_required and not user.two_factor_enabled
    for otp in (None, "", "123456"):
        with pytest.raises(ValidationFailed) as exc:
            services.signature_verify(actor=user, password=TEST_PASSWORD, meaning="I sign", otp=otp)
        assert exc.value.code == "signature_two_factor_not_enrolled"
        assert list(exc.value.as_dict()["error"]["fields"]) == ["otp"]
    # A started but unconfirmed enrolment is not a factor either.
    services.totp_begin(user=user)
    with pytest.raises(ValidationFailed):
        services.signature_verify(actor=user, password=TEST_PASSWORD, meaning="I sign")
    # Enrolled, the current code signs.
    enrol(user)
    services.signature_verify(
        actor=user, password=TEST_PASSWORD, meaning="I sign", otp=fresh_code(user)
    )


def _login(client: Client, user: Any) -> None:
    res = client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})
    assert res["Location"].startswith("/accounts/2fa/")


@pytest.mark.django_db
def test_sign_in_code_cannot_be_replayed_in_its_window(org: Any, make_user: Any) -> None:
    user = enrol(make_user("org_admin", org))
    code = fresh_code(user)
    first = Client()
    _login(first, user)
    assert first.post("/accounts/2fa/", {"code": code}).status_code == 302
    assert first.get("/").status_code == 200
    # Someone who saw the code over the shoulder tries it at once in another browser.
    second = Client()
    _login(second, user)
    res = second.post("/accounts/2fa/", {"code": code})
    assert res.status_code == 200 and b"not valid" in res.content
    assert second.get("/").status_code == 302


@pytest.mark.django_db
def test_a_code_spent_on_a_signature_cannot_open_a_session(org: Any, make_user: Any) -> None:
    user = enrol(make_user("org_admin", org))
    code = fresh_code(user)
    services.signature_verify(actor=user, password=TEST_PASSWORD, meaning="I sign", otp=code)
    client = Client()
    _login(client, user)
    assert client.post("/accounts/2fa/", {"code": code}).status_code == 200
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_the_enrolment_code_is_spent_too(org: Any, make_user: Any) -> None:
    user = make_user("qa_manager", org)
    services.totp_begin(user=user)
    code = pyotp.TOTP(user.totp_secret).now()
    services.totp_confirm(user=user, code=code)
    assert _refusal(user, code) == EXPECTED_REFUSAL


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_signatures_racing_with_one_code_sign_once(org: Any, make_user: Any) -> None:
    user = enrol(make_user("qa_manager", org))
    code = fresh_code(user)
    n = 6
    barrier = threading.Barrier(n)
    wins: list[bool] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            signer = User.objects.get(pk=user.pk)
            barrier.wait()
            try:
                services.signature_verify(
                    actor=signer, password=TEST_PASSWORD, meaning="I sign", otp=code
                )
                ok = True
            except ValidationFailed:
                ok = False
            with lock:
                wins.append(ok)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * (n - 1) + [True]
