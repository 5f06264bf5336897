"""Render journey text in a chosen language for documents (quote PDF, itinerary print).

Documents come out in the family's language, not the request's, so these helpers switch the
active language around plain gettext lookups in the compiled catalogues.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext


def t(msgid: str, language: str, params: dict[str, Any] | None = None) -> str:
    """``msgid`` in ``language``; string parameters that are msgids (stored labels) translate too."""
    with translation.override(language):
        text = gettext(msgid)
        if params:
            filled = {k: gettext(v) if isinstance(v, str) and v else v for k, v in params.items()}
            return text % filled
        return text


def stored(message: dict[str, Any], language: str) -> str:
    """Render a message stored as {"msgid", "params"} in `language`."""
    params = {
        k: (", ".join(t(str(x), language) for x in v) if isinstance(v, list) else v)
        for k, v in (message.get("params") or {}).items()
    }
    return t(message.get("msgid", ""), language, params)
