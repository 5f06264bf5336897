"""The UI shell's registries: navigation entries and home-page worklists contributed by apps.

Each domain app may define ``nav.py`` with ``ITEMS: list[NavItem]`` and ``worklists.py`` with
``WORKLISTS: list[Worklist]``; the shell collects them, so the home page of each role lists
that role's open work without core knowing the apps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.urls import NoReverseMatch, reverse

from saisei.core.registry import collect


@dataclass(frozen=True)
class NavItem:
    label: Any
    url_name: str
    roles: frozenset[str] = field(default_factory=frozenset)  # empty: every staff role
    order: int = 50

    def url(self) -> str | None:
        try:
            return reverse(self.url_name)
        except NoReverseMatch:
            return None


@dataclass(frozen=True)
class WorkItem:
    title: str
    url: str = ""
    detail: str = ""
    due: Any = None
    level: str = ""  # "", "warn", "danger"


@dataclass(frozen=True)
class Worklist:
    key: str
    title: Any
    roles: frozenset[str]
    items: Callable[[Any], list[WorkItem]]
    empty_text: Any = ""
    order: int = 50
    # Roles whose home page starts with this list (their work for today), before the rest.
    first_for: frozenset[str] = field(default_factory=frozenset)


@cache
def nav_items() -> list[NavItem]:
    return sorted(collect("nav", "ITEMS"), key=lambda i: i.order)


@cache
def worklists() -> list[Worklist]:
    return sorted(collect("worklists", "WORKLISTS"), key=lambda w: w.order)


def nav_for(user: Any) -> list[tuple[Any, str]]:
    roles = set(getattr(user, "roles", ()))
    out = []
    for item in nav_items():
        if item.roles and not roles & item.roles:
            continue
        url = item.url()
        if url:
            out.append((item.label, url))
    return out


def worklists_for(user: Any) -> list[Worklist]:
    roles = set(getattr(user, "roles", ()))
    mine = [w for w in worklists() if roles & w.roles]
    return sorted(mine, key=lambda w: 0 if roles & w.first_for else 1)
