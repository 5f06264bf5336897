"""Shared helpers for the regulatory rule tables: bilingual messages and refusal errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext, override

from saisei.core.errors import DomainError, Forbidden, ValidationFailed

__all__ = [
    "DomainError",
    "Forbidden",
    "Refusal",
    "ValidationFailed",
    "japanese",
    "render",
]


def japanese(msgid: str) -> str:
    """Japanese wording of an English msgid, from the regulatory catalogue."""
    with override("ja"):
        return gettext(msgid)


def render(msgid: str, params: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """Return ``(message in the active language, message in Japanese)`` with params filled in."""
    values = dict(params or {})
    return gettext(msgid).format(**values), japanese(msgid).format(**values)


@dataclass(frozen=True)
class Refusal:
    """Why a guard says no: a stable code and a message msgid (marked with gettext_noop)."""

    code: str
    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)
    # Input fields the refusal is about; the message is shown on each of them.
    fields: tuple[str, ...] = ()

    def error(self) -> ValidationFailed:
        """The domain error a service raises for this refusal."""
        message, _ja = render(self.msgid, self.params)
        return ValidationFailed(self.code, message, {f: [message] for f in self.fields})
