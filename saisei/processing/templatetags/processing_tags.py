"""Template helpers for the CPC screens."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

_LEVELS = {
    "released": "ok",
    "passed": "ok",
    "within": "ok",
    "administered": "ok",
    "closed": "ok",
    "full": "ok",
    "conditionally_released": "warn",
    "qc_pending": "warn",
    "quarantine": "warn",
    "pending": "warn",
    "alert": "warn",
    "conditional": "warn",
    "open": "warn",
    "investigating": "warn",
    "capa": "warn",
    "thawed": "warn",
    "shipped": "warn",
    "received": "warn",
    "quarantined": "danger",
    "rejected": "danger",
    "failed": "danger",
    "action": "danger",
    "recalled": "danger",
    "discarded": "danger",
    "blocked": "danger",
    "on_hold": "danger",
    "draft": "warn",
    "approved": "ok",
}


@register.filter
def status_class(value: Any) -> str:
    """CSS level (ok / warn / danger) for a status value."""
    return _LEVELS.get(str(value), "")


@register.filter
def cells(value: Any) -> str:
    """Cell numbers as people write them: 2.1 × 10⁸."""
    if value in (None, ""):
        return "—"
    number = float(value)
    if number == 0:
        return "0"
    exponent = len(str(int(abs(number)))) - 1 if abs(number) >= 1 else 0
    if exponent < 4:
        return f"{number:,.0f}"
    mantissa = number / 10**exponent
    sup = str(exponent).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{mantissa:.2g} × 10{sup}"


@register.filter
def em_unit(parameter: Any) -> str:
    """The one unit of an environmental-monitoring parameter."""
    from saisei.processing.rules import EM_UNITS

    return EM_UNITS.get(str(parameter), "")


@register.filter
def num(value: Any) -> str:
    """A measured value as people read it: thousands grouped, at most two decimals."""
    if value in (None, ""):
        return "—"
    text = f"{float(value):,.2f}".rstrip("0").rstrip(".")
    return text
