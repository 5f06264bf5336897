"""Registries the domain apps contribute to, collected by core without core knowing the apps.

Each app may define, next to its code:

- ``nav.py`` with ``ITEMS`` and ``worklists.py`` with ``WORKLISTS`` (the UI shell, ``core.shell``);
- ``periodic_report.py`` with ``SECTIONS: list[ReportSection]``: its section of a provision
  plan's periodic report (ASRM Art. 20, 定期報告), assembled by regulatory;
- ``jobs.py`` with ``DAILY_JOBS: list[DailyJob]``: the work ``saisei daily`` queues each day.

Apps import these types from core (the bottom layer), so contributing never imports upwards.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Row = tuple[str, Any]


def collect(module_name: str, attr: str) -> list[Any]:
    """``attr`` of ``saisei.<app>.<module_name>`` for every installed app that defines it."""
    out: list[Any] = []
    for app in settings.INSTALLED_APPS:
        if not app.startswith("saisei."):
            continue
        try:
            mod = importlib.import_module(f"{app}.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.{module_name}":
                raise
            continue
        out.extend(getattr(mod, attr, []))
    return out


@dataclass(frozen=True)
class ReportScope:
    """A plan and the period a periodic report covers (dates in Japan)."""

    plan: Any
    start: dt.date
    end: dt.date

    def datetime_range(self) -> tuple[dt.datetime, dt.datetime]:
        zone = ZoneInfo(settings.TIME_ZONE)
        start = dt.datetime.combine(self.start, dt.time.min, tzinfo=zone)
        end = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        return start, end


@dataclass(frozen=True)
class ReportSection:
    """One section of the periodic report; ``title`` and row labels are English msgids."""

    key: str
    title: str
    order: int
    build: Callable[[ReportScope], list[Row] | None]


@cache
def periodic_report_sections() -> list[ReportSection]:
    """Every app's sections in report order; a key contributed twice is a configuration error."""
    found = collect("periodic_report", "SECTIONS")
    keys = [s.key for s in found]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"periodic report sections contributed twice: {duplicates}")
    return sorted(found, key=lambda s: s.order)


@dataclass(frozen=True)
class DailyJob:
    """A task ``saisei daily`` queues; ``done`` is the line it prints once the task is queued."""

    key: str
    task: Any  # a django_tasks Task
    done: str
    order: int = 50


@cache
def daily_jobs() -> list[DailyJob]:
    return sorted(collect("jobs", "DAILY_JOBS"), key=lambda j: (j.order, j.key))


@dataclass(frozen=True)
class GateFact:
    """A fact the compliance gate (regulatory, ASRM Art. 4 and 14) asks of an app above it.

    Contributed in ``<app>/gate_facts.py`` as ``GATE_FACTS``: the journey answers for consent,
    diagnosis and patients, treatment for administrations given, processing for donations and doses.
    """

    name: str
    answer: Callable[..., Any]


@cache
def _gate_facts() -> dict[str, Callable[..., Any]]:
    facts: dict[str, Callable[..., Any]] = {}
    for fact in collect("gate_facts", "GATE_FACTS"):
        if fact.name in facts:
            raise ImproperlyConfigured(f"gate fact {fact.name!r} contributed twice")
        facts[fact.name] = fact.answer
    return facts


def gate_fact(name: str) -> Callable[..., Any]:
    """The app's answer for ``name``; no app answering is a configuration error, never a yes."""
    try:
        return _gate_facts()[name]
    except KeyError:
        raise ImproperlyConfigured(f"no installed app answers the gate fact {name!r}") from None


# --- official forms (issue 16) --------------------------------------------------------------


@dataclass(frozen=True)
class FormItem:
    """One numbered item of an official form: its label as printed on the form (Japanese, the
    form's own words), the value from the records, and where to fill it when it is empty."""

    number: str
    label: str
    value: str
    required: bool = True
    fix_url: str = ""
    # What the form prints for an empty optional item: "not applicable" only where emptiness
    # means that (no research registration); an item that is merely not yet recorded says so.
    empty: str = "該当なし"

    @property
    def missing(self) -> bool:
        return self.required and not str(self.value).strip()


@dataclass(frozen=True)
class FormTable:
    """An annex table of a form (別表): column headings and rows, as printed."""

    title: str
    columns: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class FormContent:
    """What a form says about one subject, in the form's item order."""

    title: str
    addressee: str
    subject_label: str
    plan: Any
    items: list[FormItem]
    tables: list[FormTable]

    def missing(self) -> list[FormItem]:
        return [item for item in self.items if item.missing]


@dataclass(frozen=True)
class OfficialForm:
    """A form an app fills (``official_forms.py``: ``FORMS``): ``resolve`` finds the subject in
    the actor's organisation (404 otherwise) and ``build`` reads it into the form's items."""

    code: str
    subject: str  # msgid naming what the form is about
    order: int
    resolve: Callable[[Any, str], Any]
    build: Callable[[Any, dict[str, Any]], FormContent]


@cache
def official_forms() -> dict[str, OfficialForm]:
    found: dict[str, OfficialForm] = {}
    for form in collect("official_forms", "FORMS"):
        if form.code in found:
            raise ImproperlyConfigured(f"official form {form.code!r} contributed twice")
        found[form.code] = form
    return dict(sorted(found.items(), key=lambda kv: kv[1].order))
