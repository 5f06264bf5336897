"""Render journey text in the family's language for documents, even before catalogues are compiled.

Documents (quote PDF, itinerary print) must come out in Japanese; when the compiled catalogue does
not have a msgid yet, the app's own ``locale_ja`` tables supply it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.utils import translation
from django.utils.translation import gettext


@cache
def _tables() -> dict[str, dict[str, str]]:
    from . import locale_ja as pure
    from .services import locale_ja as web

    ja = {**getattr(pure, "JA", {}), **getattr(web, "JA", {})}
    zh = {**getattr(pure, "ZH", {}), **getattr(web, "ZH", {})}
    return {"ja": ja, "zh-hans": zh}


def t(msgid: str, language: str, params: dict[str, Any] | None = None) -> str:
    """Translate `msgid` into `language`, falling back to the app's tables, then fill parameters."""
    with translation.override(language):
        text = gettext(msgid)
        if text == msgid and language in _tables():
            text = _tables()[language].get(msgid, msgid)
        if params:
            filled = {
                k: (
                    t(v, language) if isinstance(v, str) and v in _tables().get(language, {}) else v
                )
                for k, v in params.items()
            }
            try:
                return text % filled
            except (KeyError, TypeError, ValueError):
                return msgid % filled
        return text


def stored(message: dict[str, Any], language: str) -> str:
    """Render a message stored as {"msgid", "params"} in `language`."""
    params = {
        k: (", ".join(t(str(x), language) for x in v) if isinstance(v, list) else v)
        for k, v in (message.get("params") or {}).items()
    }
    return t(message.get("msgid", ""), language, params)
