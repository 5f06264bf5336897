"""Template filters for money and rates as families read them."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

register = template.Library()


@register.filter
def yen(value: Any) -> str:
    """Whole yen with thousands separators, e.g. ¥1,200,000."""
    try:
        return f"¥{int(value):,}"
    except (TypeError, ValueError):
        return "—"


@register.filter
def plain_number(value: Any) -> str:
    """A decimal without trailing zeros, with thousands separators (150.000000 -> 150)."""
    try:
        d = Decimal(str(value)).normalize()
    except (InvalidOperation, ValueError, TypeError):
        return str(value)
    return f"{d:,f}"


@register.filter
def cells(value: Any) -> str:
    """A cell count as people read it on labels, e.g. 1.0 × 10^8."""
    try:
        n = int(value)
    except (TypeError, ValueError):
        return "—"
    if n <= 0:
        return "—"
    exponent = len(str(n)) - 1
    return f"{n / 10**exponent:.1f} × 10^{exponent}"
