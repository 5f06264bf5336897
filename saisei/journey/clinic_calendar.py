"""When a clinic can see a patient: open weekdays, public holidays, closure periods and free slots.

Japanese public holidays come from the `jpholiday` package. The usual closures (year end, Golden
Week) are data with dates a clinic can change, because clinics differ (journey facts §3,
"Scheduling and holiday calendars").
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import jpholiday
from django.utils.translation import gettext_noop

from ._messages import Label

VISIT_KINDS: tuple[str, ...] = ("consultation", "harvest", "infusion", "assessment")

WEEKDAY_LABELS: tuple[Label, ...] = (
    Label(gettext_noop("Monday")),
    Label(gettext_noop("Tuesday")),
    Label(gettext_noop("Wednesday")),
    Label(gettext_noop("Thursday")),
    Label(gettext_noop("Friday")),
    Label(gettext_noop("Saturday")),
    Label(gettext_noop("Sunday")),
)

# jpholiday names holidays in Japanese; English msgids let an English itinerary name them too.
HOLIDAY_NAMES_EN: dict[str, str] = {
    "元日": gettext_noop("New Year's Day"),
    "成人の日": gettext_noop("Coming of Age Day"),
    "建国記念の日": gettext_noop("National Foundation Day"),
    "天皇誕生日": gettext_noop("The Emperor's Birthday"),
    "春分の日": gettext_noop("Vernal Equinox Day"),
    "昭和の日": gettext_noop("Showa Day"),
    "憲法記念日": gettext_noop("Constitution Memorial Day"),
    "みどりの日": gettext_noop("Greenery Day"),
    "こどもの日": gettext_noop("Children's Day"),
    "海の日": gettext_noop("Marine Day"),
    "山の日": gettext_noop("Mountain Day"),
    "敬老の日": gettext_noop("Respect for the Aged Day"),
    "秋分の日": gettext_noop("Autumnal Equinox Day"),
    "スポーツの日": gettext_noop("Sports Day"),
    "文化の日": gettext_noop("Culture Day"),
    "勤労感謝の日": gettext_noop("Labour Thanksgiving Day"),
    "国民の休日": gettext_noop("Citizens' Holiday"),
}
SUBSTITUTE_SUFFIX = "振替休日"

CLOSURE_LABELS: dict[str, str] = {
    "year_end": gettext_noop("year-end and New Year closure"),
    "golden_week": gettext_noop("Golden Week closure"),
    "obon": gettext_noop("Obon closure"),
    "clinic": gettext_noop("clinic closure"),
}


@dataclass(frozen=True)
class Closure:
    """A period (both ends included) when the clinic sees no patients, e.g. the New Year break."""

    start: dt.date
    end: dt.date
    reason: str = "clinic"
    label: str = ""

    def covers(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def reason_label(self) -> Label:
        return Label(self.label or CLOSURE_LABELS.get(self.reason, CLOSURE_LABELS["clinic"]))


def standard_closures(
    *,
    years: Iterable[int],
    year_end: tuple[tuple[int, int], tuple[int, int]] | None = ((12, 29), (1, 3)),
    golden_week: tuple[tuple[int, int], tuple[int, int]] | None = ((4, 29), (5, 5)),
    obon: tuple[tuple[int, int], tuple[int, int]] | None = None,
) -> tuple[Closure, ...]:
    """Build the usual closures for the given years; the dates are defaults a clinic overrides.

    Year end about 29 Dec to 3 Jan and the Golden Week break follow journey facts §3; Obon is
    off by default because the facts mark it unverified.
    """
    out: list[Closure] = []
    for year in sorted(set(years)):
        if year_end:
            (m1, d1), (m2, d2) = year_end
            out.append(Closure(dt.date(year, m1, d1), dt.date(year + 1, m2, d2), "year_end"))
            out.append(Closure(dt.date(year - 1, m1, d1), dt.date(year, m2, d2), "year_end"))
        for reason, span in (("golden_week", golden_week), ("obon", obon)):
            if span:
                (m1, d1), (m2, d2) = span
                out.append(Closure(dt.date(year, m1, d1), dt.date(year, m2, d2), reason))
    return tuple(sorted(set(out), key=lambda c: (c.start, c.end, c.reason)))


@dataclass(frozen=True)
class Blocker:
    """Why one day cannot take one kind of visit; `params` feed the explanation sentence."""

    code: str
    params: Mapping[str, object] = field(default_factory=dict)


@functools.lru_cache(maxsize=64)
def _holidays_of(year: int) -> dict[dt.date, str]:
    # jpholiday recomputes the year on every call; planning asks about thousands of days.
    return dict(jpholiday.year_holidays(year))


def holiday_label(day: dt.date) -> tuple[Label, bool] | None:
    """Name the Japanese public holiday on `day` translatably, and say whether it is a substitute day."""
    name = _holidays_of(day.year).get(day)
    if not name:
        return None
    base = name.replace(SUBSTITUTE_SUFFIX, "").strip()
    return Label(HOLIDAY_NAMES_EN.get(base, base)), base != name.strip()


@dataclass(frozen=True)
class ClinicCalendar:
    """Opening days and capacity of one clinic, as the planner sees them.

    `open_weekdays` uses Monday=0. `closed_nth_weekdays` holds (n, weekday) pairs such as
    (1, 1) for "first Tuesday of the month". `extra_open_dates` overrides every closure (a clinic
    on the Golden Week rota). `daily_capacity` and `bookings` count visits per kind; a kind
    missing from `daily_capacity` is not limited.
    """

    open_weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4, 5})
    closed_nth_weekdays: frozenset[tuple[int, int]] = frozenset()
    closures: tuple[Closure, ...] = ()
    closed_on_public_holidays: bool = True
    extra_open_dates: frozenset[dt.date] = frozenset()
    weekdays_by_kind: Mapping[str, frozenset[int]] = field(default_factory=dict)
    daily_capacity: Mapping[str, int] = field(default_factory=dict)
    bookings: Mapping[dt.date, Mapping[str, int]] = field(default_factory=dict)

    def blocker(self, *, day: dt.date, kind: str) -> Blocker | None:
        """Return why `day` cannot take a `kind` visit, or None when a slot is free."""
        if day not in self.extra_open_dates:
            wd = day.weekday()
            if wd not in self.open_weekdays:
                return Blocker("weekday_closed", {"weekday": WEEKDAY_LABELS[wd]})
            nth = (day.day - 1) // 7 + 1
            if (nth, wd) in self.closed_nth_weekdays:
                return Blocker("nth_weekday_closed", {"n": nth, "weekday": WEEKDAY_LABELS[wd]})
            if self.closed_on_public_holidays:
                holiday = holiday_label(day)
                if holiday is not None:
                    label, substitute = holiday
                    code = "substitute_holiday" if substitute else "public_holiday"
                    return Blocker(code, {"holiday": label})
            for closure in self.closures:
                if closure.covers(day):
                    return Blocker("closure", {"closure": closure.reason_label()})
            kind_days = self.weekdays_by_kind.get(kind)
            if kind_days is not None and wd not in kind_days:
                return Blocker("kind_weekday", {"weekday": WEEKDAY_LABELS[wd]})
        cap = self.daily_capacity.get(kind)
        if cap is not None and self.bookings.get(day, {}).get(kind, 0) >= cap:
            return Blocker("full", {})
        return None

    def is_available(self, *, day: dt.date, kind: str) -> bool:
        return self.blocker(day=day, kind=kind) is None


class AvailabilityCache:
    """Memoises calendar look-ups during one planning run, where the same days are asked many times."""

    def __init__(self, calendar: ClinicCalendar) -> None:
        self.calendar = calendar
        self._seen: dict[tuple[dt.date, str], Blocker | None] = {}
        self._ok: dict[tuple[dt.date, str], bool] = {}

    def blocker(self, day: dt.date, kind: str) -> Blocker | None:
        key = (day, kind)
        if key not in self._seen:
            self._seen[key] = self.calendar.blocker(day=day, kind=kind)
        return self._seen[key]

    def ok(self, day: dt.date, kind: str) -> bool:
        # The planner asks this thousands of times per run: one dict look-up when seen before.
        key = (day, kind)
        try:
            return self._ok[key]
        except KeyError:
            free = self._ok[key] = self.blocker(day, kind) is None
            return free
