"""Template helpers for the CPC screens."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

from saisei.core import numbers
from saisei.processing import display

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
    """Cell numbers as people write them: 2.1 × 10⁸ (one rule for every page, see core)."""
    return numbers.cells(value)


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


@register.filter
def qc_value(value: Any) -> str:
    """A QC result as the reader says it: "no growth", not ``no_growth``; numbers unchanged."""
    from saisei.processing.specs import value_label

    return value_label(str(value))


@register.filter
def marker_label(code: Any) -> str:
    """The name of a donor infection marker (``hbs_ag`` -> Hepatitis B surface antigen)."""
    from saisei.processing.rules import marker_name

    return str(marker_name(str(code)))


@register.filter
def custody_stage(value: Any) -> str:
    """A custody stage (``cpc_receipt``) as its label ("CPC receipt")."""
    return display.custody_stage_label(value)


@register.filter
def near_miss_reason(value: Any) -> str:
    """Why a scan was refused, in words, without the rule codes kept in the record."""
    return display.near_miss_reason_text(value)


_RELEASE_STATUS = {
    "full": _("Ready for release"),
    "conditional": _("Conditional release only"),
    "blocked": _("Not releasable"),
}


@register.filter
def release_status(value: Any) -> str:
    """The release readiness of a lot in words (``blocked`` reads "Not releasable")."""
    label = _RELEASE_STATUS.get(str(value))
    return str(label) if label is not None else str(value)
