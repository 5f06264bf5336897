"""Helpers for e-signature tests: enrol a signer, spend codes, and sign on every channel.

The same promise is tested for each signature kind: a signer enrolled in two-factor
authentication needs password *and* a current code, on the API with a token, the API with a
session and the web form, and a missing, wrong or reused code gets one and the same refusal.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyotp
from django.test import Client
from django.utils import timezone

from saisei.core.demo import demo_otp
from saisei.core.services import SIGNATURE_OTP_REFUSAL, token_create

WRONG_CODE = "000000"
CHANNELS = ("token", "session", "web")


def enrol(user: Any) -> Any:
    """Give the user a confirmed authenticator, as the setup page would."""
    user.totp_secret = pyotp.random_base32()
    user.totp_confirmed_at = timezone.now()
    user.save(update_fields=["totp_secret", "totp_confirmed_at"])
    return user


def fresh_code(user: Any) -> str:
    """A code the user has not spent yet: the current step, or the next one if it was spent.

    Not the oldest step in the window: on a loaded machine that one can expire between making
    the code and posting it, and the test would fail for the wrong reason.
    """
    from saisei.core.services import TOTP_VALID_WINDOW

    totp = pyotp.TOTP(user.totp_secret)
    user.refresh_from_db(fields=["totp_last_step"])
    now = totp.timecode(timezone.now())
    step = max(now, (user.totp_last_step or 0) + 1)
    if step > now + TOTP_VALID_WINDOW:
        return demo_otp(user)  # every step in the window is spent: wait for the next one
    return totp.generate_otp(step)


def signing_code(user: Any) -> str:
    """A current code for a test that signs as a two-factor role but is not about signatures.

    Enrols the user if needed. Codes are accepted once per 30-second step and only three steps
    are in the window, so when a test signs faster than that, the clock is taken to the next
    step (the last spent step moves back by one window), exactly as waiting would.
    """
    from saisei.core.services import TOTP_VALID_WINDOW

    if not user.two_factor_enabled:
        enrol(user)
    totp = pyotp.TOTP(user.totp_secret)
    user.refresh_from_db(fields=["totp_last_step"])
    now = totp.timecode(timezone.now())
    if user.totp_last_step is not None and user.totp_last_step >= now + TOTP_VALID_WINDOW:
        user.totp_last_step = now - TOTP_VALID_WINDOW - 1
        user.save(update_fields=["totp_last_step"])
    return fresh_code(user)


def signed(user: Any, **extra: Any) -> dict[str, Any]:
    """Password and a current code for a signing call: `service(actor=qa, **signed(qa))`."""
    from saisei.core.tests.factories import TEST_PASSWORD

    return {"password": TEST_PASSWORD, "otp": signing_code(user), **extra}


def wrong_code(user: Any) -> str:
    """A well-formed code that does not match any step in the window."""
    totp = pyotp.TOTP(user.totp_secret)
    now = totp.timecode(timezone.now())
    valid = {totp.generate_otp(s) for s in range(now - 2, now + 3)}
    return next(c for c in (WRONG_CODE, "111111", "222222", "333333") if c not in valid)


def spent_code(user: Any) -> str:
    """A code that was accepted once already (here: spent at the two-factor sign-in)."""
    from saisei.core.services import totp_consume

    code = fresh_code(user)
    assert totp_consume(user=user, code=code)
    return code


EXPECTED_REFUSAL = {
    "code": "signature_otp_invalid",
    "message": str(SIGNATURE_OTP_REFUSAL),
    "fields": {"otp": [str(SIGNATURE_OTP_REFUSAL)]},
}


@dataclass
class Outcome:
    """What a channel answered: the HTTP status, and the error body if it refused."""

    status: int
    error: dict[str, Any] | None
    body: str = ""


def session_client(user: Any) -> Client:
    """A browser session that passed the two-factor step."""
    client = Client()
    client.force_login(user)
    session = client.session
    session["2fa_ok"] = True
    session.save()
    return client


def api_post(channel: str, user: Any, path: str, data: dict[str, Any]) -> Outcome:
    """POST JSON to /api/v1 with a Bearer token or with the web session."""
    body = json.dumps(data, default=str)
    if channel == "token":
        _, raw = token_create(actor=None, user=user, label="esign-test")
        res = Client().post(
            f"/api/v1{path}",
            body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {raw}"},
        )
    elif channel == "session":
        res = session_client(user).post(f"/api/v1{path}", body, content_type="application/json")
    else:
        raise AssertionError(channel)
    error = res.json().get("error") if res.status_code >= 400 else None
    return Outcome(res.status_code, error, res.content.decode())


def web_post(user: Any, url: str, data: dict[str, Any]) -> Outcome:
    """POST the web form; a refusal is the page re-rendered with the error (400)."""
    res = session_client(user).post(url, data)
    return Outcome(res.status_code, None, res.content.decode())


def assert_refused_alike(outcomes: dict[str, Outcome], channel: str) -> None:
    """Missing, wrong and spent codes: one refusal, identical in status, code, message, fields."""
    if channel == "web":
        for case, out in outcomes.items():
            assert out.status == 400, (case, out.status)
            assert str(SIGNATURE_OTP_REFUSAL) in out.body, case
        return
    for case, out in outcomes.items():
        assert out.status == 422, (case, out.status, out.body)
        assert out.error is not None
        # A field may carry a prefix on a two-person form (second_person_otp); same message.
        fields = {k.removeprefix("second_person_"): v for k, v in out.error["fields"].items()}
        assert {**out.error, "fields": fields} == EXPECTED_REFUSAL, (case, out.error)


Sign = Callable[[str, str | None], Outcome]


def check_every_factor(sign: Sign, signer: Any, channel: str, done: Callable[[], bool]) -> None:
    """Drive one signature kind on one channel through missing, wrong, spent and good codes."""
    outcomes = {
        "missing": sign(channel, None),
        "empty": sign(channel, ""),
        "wrong": sign(channel, wrong_code(signer)),
        "spent": sign(channel, spent_code(signer)),
    }
    assert_refused_alike(outcomes, channel)
    assert not done(), "a refused signature must not perform the act"
    good = sign(channel, fresh_code(signer))
    # A page redirects after a signed act; the API answers 201 when the act creates a record
    # and 200 when it changes one, so only the status class is common to every endpoint.
    if channel == "web":
        assert good.status == 302, (good.status, good.body[:2000])
    else:
        assert good.status in (200, 201), (good.status, good.body[:2000])
    assert done()
