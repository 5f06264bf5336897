"""Template filters for money and rates as families read them."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.translation import gettext_lazy

from saisei.core import numbers

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
    """A cell count as people read it on labels, e.g. 1.0 × 10⁸ (the one rule in core)."""
    return numbers.cells(value)


@register.filter
def stage_label(value: Any) -> str:
    """A pre-screening stage (``moderately_severe``) in words."""
    from django.utils.translation import gettext

    from saisei.journey.prescreen import STAGE_LABELS

    if not value:
        return "—"
    label = STAGE_LABELS.get(str(value))
    return gettext(label.msgid) if label is not None else str(value)


_SEVERITY = {
    "info": gettext_lazy("information"),
    "review": gettext_lazy("physician review"),
    "exclude": gettext_lazy("excludes"),
}


@register.filter
def severity_label(value: Any) -> str:
    """How much a pre-screening finding weighs, in words (``exclude`` reads "excludes")."""
    label = _SEVERITY.get(str(value))
    return str(label) if label is not None else str(value)
