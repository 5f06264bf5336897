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
    """Every app's tables (the catalogue is one), the journey's own last so its wording wins."""
    import importlib

    from django.conf import settings

    modules = []
    for app in settings.INSTALLED_APPS:
        if app.startswith("saisei.") and app != "saisei.journey":
            try:
                modules.append(importlib.import_module(f"{app}.locale_ja"))
            except ImportError:
                continue
    from . import locale_ja as pure
    from .services import locale_ja as web

    modules += [pure, web]
    ja: dict[str, str] = {}
    zh: dict[str, str] = {}
    for mod in modules:
        ja.update(getattr(mod, "JA", {}) or {})
        zh.update(getattr(mod, "ZH", {}) or {})
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
