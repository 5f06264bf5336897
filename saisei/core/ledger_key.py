"""The audit ledger's secret key, kept outside the database (decision record 0015).

The key comes from ``SAISEI_LEDGER_KEY`` (the environment) or from the key file
``SAISEI_LEDGER_KEY_FILE`` (default ``<data dir>/ledger.key``). In demo and development the file
is created on first use, readable by its owner only; in production a missing key, a short key or
a key file others can read stops every ledger write (fail closed): nothing is written unkeyed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MIN_KEY_BYTES = 32


@dataclass(frozen=True)
class LedgerKey:
    secret: bytes
    source: str

    @property
    def key_id(self) -> str:
        """A short public name of the key (not the key): which key keyed an entry or anchor."""
        return hmac.new(self.secret, b"saisei-ledger-key-id", hashlib.sha256).hexdigest()[:8]

    def mac(self, data: bytes) -> str:
        return hmac.new(self.secret, data, hashlib.sha256).hexdigest()


_cache: dict[tuple[str, str], LedgerKey] = {}


def _check_length(secret: bytes, source: str) -> bytes:
    if len(secret) < MIN_KEY_BYTES:
        raise ImproperlyConfigured(
            f"The ledger key from {source} is {len(secret)} bytes; it must be at least "
            f"{MIN_KEY_BYTES} (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)."
        )
    return secret


def _read_file(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and settings.PRODUCTION:
        raise ImproperlyConfigured(
            f"The ledger key file {path} can be read by other users; run `chmod 600 {path}`."
        )
    return _check_length(path.read_bytes().strip(), str(path))


def _create_file(path: Path) -> None:
    """Demo and development only: a new random key, created 0600 (never replacing one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process created it first; read theirs
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")


def ledger_key() -> LedgerKey:
    """The configured key; raises ImproperlyConfigured when none is usable (fail closed)."""
    from_env = str(getattr(settings, "SAISEI_LEDGER_KEY", "") or "")
    path = Path(settings.SAISEI_LEDGER_KEY_FILE)
    cache_key = (from_env, str(path))
    if cache_key in _cache:
        return _cache[cache_key]
    if from_env:
        key = LedgerKey(_check_length(from_env.encode(), "SAISEI_LEDGER_KEY"), "environment")
    else:
        if not path.exists():
            if settings.PRODUCTION:
                raise ImproperlyConfigured(
                    "Saisei is in production mode but has no ledger key: set SAISEI_LEDGER_KEY "
                    f"or create the key file {path} (mode 600). The audit ledger is not written "
                    "without one. See docs/operations.md, 'The ledger key'."
                )
            _create_file(path)
        key = LedgerKey(_read_file(path), str(path))
    _cache[cache_key] = key
    return key


def ledger_key_problem() -> str | None:
    """Why no key is usable, or None: for the start-up check and the commands."""
    try:
        ledger_key()
    except (ImproperlyConfigured, OSError) as exc:
        return str(exc)
    return None
