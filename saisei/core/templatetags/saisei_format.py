"""Template filters for numbers as people write them; load with ``{% load saisei_format %}``."""

from __future__ import annotations

from typing import Any

from django import template

from saisei.core import display, numbers

register = template.Library()


@register.filter
def cells(value: Any) -> str:
    """A cell count as people write it: ``{{ dose.cell_count|cells }}`` gives 1.0 × 10⁸."""
    return numbers.cells(value)


@register.filter
def route(value: Any) -> str:
    """A route of administration as a label: ``iv`` reads "Intravenous"."""
    return display.route_label(value)


@register.filter
def routes(values: Any) -> str:
    """A list of routes as labels, comma-separated."""
    return ", ".join(route(v) for v in (values or ())) or "—"
