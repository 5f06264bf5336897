"""Template filters for the outcomes pages: the cohort model's method and warnings in words."""

from __future__ import annotations

from typing import Any

from django import template

from saisei.outcomes import analysis
from saisei.outcomes.fit_labels import method_label, warning_labels

register = template.Library()


@register.filter
def fit_method(code: Any) -> str:
    """``mixedlm_slope`` reads "Mixed-effects model with a slope for each patient"."""
    return method_label(str(code))


@register.filter
def fit_warnings(codes: Any) -> str:
    """The model's warnings as sentences; stage notes are shown on their own above them."""
    return " ".join(warning_labels(list(codes or ()), skip=frozenset(analysis.COHORT_STAGE_NOTES)))
