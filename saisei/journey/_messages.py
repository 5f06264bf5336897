"""Translatable messages with parameters, so explanations can be stored once and shown in any language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation
from django.utils.translation import gettext


@dataclass(frozen=True)
class Label:
    """A parameter value that is itself a msgid, translated when the message is rendered."""

    msgid: str


def _param(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return ", ".join(str(_param(v)) for v in value)
    if isinstance(value, Label):
        return gettext(value.msgid)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Label):
        return value.msgid
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Message:
    """One explanation or change: a stable code, an English msgid with %(name)s slots and its values."""

    code: str
    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)
    date: dt.date | None = None

    def render(self, *, language: str | None = None) -> str:
        """Return the sentence in `language` (or the active language) with parameters filled in."""
        if language is None:
            return gettext(self.msgid) % {k: _param(v) for k, v in self.params.items()}
        with translation.override(language):
            return gettext(self.msgid) % {k: _param(v) for k, v in self.params.items()}

    def __str__(self) -> str:
        return self.render()

    def as_dict(self, *, language: str | None = None) -> dict[str, Any]:
        """JSON shape for the API: code, date, rendered message and the raw parameters."""
        return {
            "code": self.code,
            "date": self.date.isoformat() if self.date else None,
            "message": self.render(language=language),
            "params": {k: _plain(v) for k, v in self.params.items()},
        }
