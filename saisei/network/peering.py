"""Signed messages between two Saisei installations (decision record 0030).

Each installation holds one Ed25519 key pair, kept outside the database (a key file under the
data directory, created 0600 on first use, or ``SAISEI_PEER_KEY`` in the environment). Its
installation id is derived from the public key, so an id cannot be claimed without the key.

An envelope is a JSON object; its signature is Ed25519 over the envelope's canonical JSON (keys
sorted, no spaces, UTF-8, no floats), sent beside it:

    {"envelope": {"v": 1, "sender": ..., "recipient": ..., "id": ..., "issued_at": ...,
                  "expires_at": ..., "type": ..., "payload": {...}},
     "signature": "<base64url of the 64-byte signature>"}

This module only builds, signs and checks envelopes; what a message does is in ``exchange``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.utils import timezone

VERSION = 1
MESSAGE_TYPES = ("referral", "quote", "decline", "acceptance", "revocation", "closure")
# How long a message may be delivered after it was issued; the receiver also refuses an
# envelope that claims a longer life than MAX_LIFETIME, or an issue time in the future.
LIFETIME = dt.timedelta(hours=24)
MAX_LIFETIME = dt.timedelta(days=7)
CLOCK_SKEW = dt.timedelta(minutes=5)
ENVELOPE_KEYS = {"v", "sender", "recipient", "id", "issued_at", "expires_at", "type", "payload"}


class EnvelopeRefused(Exception):
    """An envelope the receiver will not act on: a stable code and the HTTP status to answer."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message


def canonical(value: Any) -> bytes:
    """The bytes that are signed: sorted keys, no whitespace, UTF-8; floats are refused because
    two JSON libraries may print them differently."""

    def check(v: Any) -> None:
        if isinstance(v, float):
            raise ValueError("floats are not allowed in a signed message")
        if isinstance(v, dict):
            for k, item in v.items():
                if not isinstance(k, str):
                    raise ValueError("object keys must be strings")
                check(item)
        elif isinstance(v, list):
            for item in v:
                check(item)

    check(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_text(key: Ed25519PublicKey) -> str:
    return _b64(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def public_key_from_text(text: str) -> Ed25519PublicKey:
    try:
        raw = _unb64(text.strip())
    except (ValueError, TypeError) as exc:
        raise ValueError("not base64url") from exc
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def installation_id(public_key_b64: str) -> str:
    """The id that names an installation: a digest of its public key."""
    return "saisei:" + hashlib.sha256(_unb64(public_key_b64)).hexdigest()[:32]


@dataclass(frozen=True)
class Identity:
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> str:
        return public_key_text(self.private_key.public_key())

    @property
    def id(self) -> str:
        return installation_id(self.public_key)


def _key_file() -> Path:
    return Path(getattr(settings, "SAISEI_PEER_KEY_FILE", settings.DATA_DIR / "peer.key"))


def identity() -> Identity:
    """This installation's key pair: from SAISEI_PEER_KEY (base64url of the 32-byte seed), or
    the key file, created with mode 0600 on first use."""
    seed_text = os.environ.get("SAISEI_PEER_KEY", "")
    if seed_text:
        return Identity(Ed25519PrivateKey.from_private_bytes(_unb64(seed_text)))
    path = _key_file()
    if path.exists():
        return Identity(Ed25519PrivateKey.from_private_bytes(_unb64(path.read_text().strip())))
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(_b64(seed) + "\n")
    return Identity(key)


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_time(text: Any) -> dt.datetime:
    if not isinstance(text, str):
        raise ValueError("time must be a string")
    t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError("time must carry its zone")
    return t


def seal(
    *,
    me: Identity,
    recipient: str,
    type: str,
    payload: dict[str, Any],
    now: dt.datetime | None = None,
    lifetime: dt.timedelta = LIFETIME,
) -> dict[str, Any]:
    """A signed envelope, ready to send as JSON."""
    if type not in MESSAGE_TYPES:
        raise ValueError(f"unknown message type {type}")
    now = now or timezone.now()
    envelope = {
        "v": VERSION,
        "sender": me.id,
        "recipient": recipient,
        "id": str(uuid.uuid4()),
        "issued_at": _iso(now),
        "expires_at": _iso(now + lifetime),
        "type": type,
        "payload": payload,
    }
    return {"envelope": envelope, "signature": _b64(me.private_key.sign(canonical(envelope)))}


def parse(body: bytes) -> tuple[dict[str, Any], str]:
    """The envelope and signature of a request body, or refused as malformed (400)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise EnvelopeRefused("malformed", 400, "The body is not JSON.") from exc
    if not isinstance(data, dict) or set(data) != {"envelope", "signature"}:
        raise EnvelopeRefused("malformed", 400, "Send {envelope, signature}.")
    env, sig = data["envelope"], data["signature"]
    if not isinstance(env, dict) or set(env) != ENVELOPE_KEYS or not isinstance(sig, str):
        raise EnvelopeRefused("malformed", 400, "The envelope does not have the documented keys.")
    if env["v"] != VERSION or env["type"] not in MESSAGE_TYPES:
        raise EnvelopeRefused("unsupported", 400, "Unknown envelope version or message type.")
    if not isinstance(env["payload"], dict) or not all(
        isinstance(env[k], str) for k in ("sender", "recipient", "id")
    ):
        raise EnvelopeRefused("malformed", 400, "The envelope's fields have the wrong types.")
    try:
        uuid.UUID(env["id"])
    except ValueError as exc:
        raise EnvelopeRefused("malformed", 400, "The message id is not a UUID.") from exc
    return env, sig


def verify_signature(envelope: dict[str, Any], signature: str, public_key: str) -> None:
    """Refuse (401) unless ``signature`` is the sender's signature of exactly this envelope."""
    try:
        key = public_key_from_text(public_key)
        key.verify(_unb64(signature), canonical(envelope))
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise EnvelopeRefused(
            "bad_signature", 401, "The signature does not match the sender's key."
        ) from exc


def check_times(envelope: dict[str, Any], now: dt.datetime | None = None) -> dt.datetime:
    """Refuse an expired envelope (410), or one issued in the future or living too long (400);
    return its expiry."""
    now = now or timezone.now()
    try:
        issued = _parse_time(envelope["issued_at"])
        expires = _parse_time(envelope["expires_at"])
    except ValueError as exc:
        raise EnvelopeRefused("malformed", 400, "The message times are not ISO 8601.") from exc
    if issued > now + CLOCK_SKEW or expires <= issued or expires - issued > MAX_LIFETIME:
        raise EnvelopeRefused("bad_times", 400, "The message times are not plausible.")
    if expires <= now:
        raise EnvelopeRefused("expired", 410, "The message has expired.")
    return expires
