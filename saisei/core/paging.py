"""Counts that stop: a list counts its rows up to COUNT_CAP and no further.

At national size an exact count of an organisation's rows costs more than the page it goes
with (a COUNT(*) over six million ledger entries took half a second), and nobody pages through
10,000 rows: they search or filter. The API (`api_support.paginate`) and the web pages
(`BoundedPaginator`) both count this way and say when the count is a lower bound.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet

COUNT_CAP = 10_000


def bounded_count(rows: QuerySet | Any, *, cap: int | None = None) -> tuple[int, bool]:
    """(rows counted, whether that is all of them): at most cap + 1 rows are counted."""
    cap = COUNT_CAP if cap is None else cap
    counted = rows.order_by()[: cap + 1].count() if isinstance(rows, QuerySet) else len(rows)
    return min(counted, cap), counted <= cap


class BoundedPaginator(Paginator):
    """Django's paginator over the first COUNT_CAP rows; `count_exact` is False when there are
    more (the pager then says "of at least N pages")."""

    @cached_property
    def _bounded(self) -> tuple[int, bool]:
        return bounded_count(self.object_list)

    @cached_property
    def count(self) -> int:
        return self._bounded[0]

    @property
    def count_exact(self) -> bool:
        return self._bounded[1]
