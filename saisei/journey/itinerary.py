"""Trip and visit planning for a family travelling to Japan for harvest and infusions.

The planner proposes dates that need the fewest trips, then the fewest nights in Japan, while
respecting culture and QC time, the infusion interval, the clinic calendar, the visa's maximum
stay and the family's travel windows. Every date comes with an explanation, and a re-plan can be
compared with the old plan. Scheduling facts: journey facts §3 (visa, holidays) and
manufacturing facts §4 (culture 3–6 weeks, 2–4-week infusion intervals).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from django.utils.translation import gettext, gettext_noop

from ._errors import JourneyError
from ._messages import Label, Message
from .clinic_calendar import (
    VISIT_KINDS,
    AvailabilityCache,
    Blocker,
    ClinicCalendar,
    Closure,
    standard_closures,
)

__all__ = [
    "VISIT_KINDS",
    "ClinicCalendar",
    "Closure",
    "Itinerary",
    "ItineraryInfeasible",
    "ItineraryRequest",
    "Message",
    "TravelWindow",
    "Trip",
    "Visit",
    "diff_itineraries",
    "fix_visits_through",
    "itinerary_text",
    "plan_itinerary",
    "standard_closures",
]

Objective = Literal["fewest_trips", "fewest_nights"]
ONE_DAY = dt.timedelta(days=1)

KIND_LABELS: dict[str, Label] = {
    "consultation": Label(gettext_noop("Consultation")),
    "harvest": Label(gettext_noop("Harvest")),
    "infusion": Label(gettext_noop("Infusion")),
    "assessment": Label(gettext_noop("Assessment")),
}

# Why a day could not be used; one sentence per calendar blocker code.
BLOCKER_MESSAGES: dict[str, str] = {
    "weekday_closed": gettext_noop("%(date)s: the clinic is closed on %(weekday)s."),
    "nth_weekday_closed": gettext_noop(
        "%(date)s: the clinic is closed on %(weekday)s number %(n)s of the month."
    ),
    "public_holiday": gettext_noop(
        "%(date)s is a public holiday in Japan (%(holiday)s); the clinic is closed."
    ),
    "substitute_holiday": gettext_noop(
        "%(date)s is a substitute public holiday in Japan for %(holiday)s; the clinic is closed."
    ),
    "closure": gettext_noop("%(date)s falls in the clinic's %(closure)s."),
    "kind_weekday": gettext_noop(
        "%(date)s: the clinic does not do this kind of visit on %(weekday)s."
    ),
    "full": gettext_noop("%(date)s: the clinic has no free slot for this visit."),
}

CULTURE_SOURCES: dict[str, Label] = {
    "request": Label(gettext_noop("the planned culture time")),
    "default": Label(gettext_noop("the default culture time, as no forecast exists yet")),
}


class ItineraryInfeasible(JourneyError):
    """No plan meets the constraints; `constraint` names the request field or rule that fails."""

    def __init__(self, code: str, message: Any, constraint: str) -> None:
        super().__init__(code, message, {constraint: message})
        self.constraint = constraint


@dataclass(frozen=True)
class Visit:
    """One clinic visit; `sequence` numbers infusions 1..n (1 for the other kinds)."""

    date: dt.date
    kind: str
    sequence: int = 1
    fixed: bool = False

    @property
    def key(self) -> tuple[str, int]:
        return (self.kind, self.sequence)

    def as_dict(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "kind": self.kind, "sequence": self.sequence}


@dataclass(frozen=True)
class TravelWindow:
    """A period (both ends included) in which the family can be in Japan."""

    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class Trip:
    """One stay in Japan, from the arrival day to the departure day."""

    arrive: dt.date
    depart: dt.date
    visits: tuple[Visit, ...]

    @property
    def nights(self) -> int:
        return (self.depart - self.arrive).days

    @property
    def days(self) -> int:
        """Calendar days in Japan, counting arrival and departure days as the visa does."""
        return self.nights + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "arrive": self.arrive.isoformat(),
            "depart": self.depart.isoformat(),
            "nights": self.nights,
            "visits": [v.as_dict() for v in self.visits],
        }


@dataclass(frozen=True)
class ItineraryRequest:
    """What the planner must respect. Defaults are configurable planning values, not facts.

    Culture time comes from `culture_ready_by` (the expansion forecast's latest date, which needs a
    fixed harvest), else `culture_days`, else `default_culture_days` (35: the slow end of the 3–5
    weeks in journey facts §3). `qc_release_days` defaults to 1 for fresh product released on rapid
    tests; cryopreserved product waiting for 14-day sterility needs more (manufacturing facts §3).
    `intervals_days` overrides the gap before each later infusion (e.g. 14, 14, 28, 28).
    `night_tolerance` is how many extra nights are worth exact intervals or finishing sooner.
    `fixed_visits` are booked or done and never move; a fixed harvest means the consultation is
    done unless it is fixed too. Visits before `earliest_arrival` count as past and join no trip.
    """

    earliest_arrival: dt.date
    latest_return: dt.date
    infusions: int
    interval_days: int
    max_stay_days: int = 90
    culture_days: int | None = None
    default_culture_days: int = 35
    culture_ready_by: dt.date | None = None
    qc_release_days: int = 1
    intervals_days: tuple[int, ...] = ()
    interval_flex_days: int = 0
    max_wait_after_release_days: int = 14
    include_consultation: bool = True
    consultation_min_days_before_harvest: int = 1
    consultation_max_days_before_harvest: int = 7
    assessment_days_after_last_infusion: int | None = 1
    arrival_buffer_days: int = 1
    departure_buffer_days: int = 1
    min_days_at_home: int = 7
    travel_windows: tuple[TravelWindow, ...] = ()
    fixed_visits: tuple[Visit, ...] = ()
    objective: Objective = "fewest_trips"
    night_tolerance: int = 2

    def gap_before(self, sequence: int) -> int:
        """Target days between infusion `sequence - 1` and infusion `sequence`."""
        idx = sequence - 2
        return self.intervals_days[idx] if idx < len(self.intervals_days) else self.interval_days


@dataclass(frozen=True)
class Itinerary:
    """A proposed plan: trips with their visits, visits already past, and why each date was chosen."""

    trips: tuple[Trip, ...]
    explanations: tuple[Message, ...]
    release_date: dt.date | None
    culture_days: int | None
    culture_source: str
    past_visits: tuple[Visit, ...] = ()
    objective: Objective = "fewest_trips"

    @property
    def visits(self) -> tuple[Visit, ...]:
        return tuple(v for t in self.trips for v in t.visits)

    @property
    def all_visits(self) -> tuple[Visit, ...]:
        return self.past_visits + self.visits

    @property
    def total_nights(self) -> int:
        return sum(t.nights for t in self.trips)

    def as_dict(self, *, language: str | None = None) -> dict[str, Any]:
        """JSON shape of POST /api/v1/journey/itinerary-preview."""
        return {
            "trips": [t.as_dict() for t in self.trips],
            "past_visits": [v.as_dict() for v in self.past_visits],
            "total_nights": self.total_nights,
            "release_date": self.release_date.isoformat() if self.release_date else None,
            "explanations": [m.as_dict(language=language) for m in self.explanations],
        }


# --- validation ----------------------------------------------------------------------------


def _fail(code: str, constraint: str, msgid: str, **params: Any) -> ItineraryInfeasible:
    return ItineraryInfeasible(code, Message(code, msgid, params), constraint)


def _validate(req: ItineraryRequest) -> None:
    _validate_numbers(req)
    _validate_visits(req)


def _validate_numbers(req: ItineraryRequest) -> None:
    """Refuse negative durations, no infusion, an empty stay, window or infusion interval."""
    non_negative = (
        "qc_release_days",
        "interval_flex_days",
        "max_wait_after_release_days",
        "consultation_min_days_before_harvest",
        "arrival_buffer_days",
        "departure_buffer_days",
        "min_days_at_home",
        "default_culture_days",
        "night_tolerance",
    )
    for name in non_negative:
        if getattr(req, name) < 0:
            raise _fail(
                "itinerary.invalid",
                name,
                gettext_noop("%(field)s must not be negative."),
                field=name,
            )
    if req.infusions < 1:
        raise _fail(
            "itinerary.invalid", "infusions", gettext_noop("At least one infusion is needed.")
        )
    if req.culture_days is not None and req.culture_days < 0:
        raise _fail(
            "itinerary.invalid", "culture_days", gettext_noop("Culture days must not be negative.")
        )
    if req.max_stay_days < 1:
        raise _fail(
            "itinerary.invalid",
            "max_stay_days",
            gettext_noop("The maximum stay must be at least one day."),
        )
    if req.latest_return < req.earliest_arrival:
        raise _fail(
            "itinerary.invalid",
            "latest_return",
            gettext_noop("The latest return date is before the earliest arrival date."),
        )
    if req.consultation_max_days_before_harvest < req.consultation_min_days_before_harvest:
        raise _fail(
            "itinerary.invalid",
            "consultation_max_days_before_harvest",
            gettext_noop("The consultation window before the harvest is empty."),
        )
    for seq in range(2, req.infusions + 1):
        if req.gap_before(seq) - req.interval_flex_days < 1:
            raise _fail(
                "itinerary.invalid",
                "interval_days",
                gettext_noop(
                    "Infusions must be at least one day apart, even with the flexibility."
                ),
            )


def _validate_visits(req: ItineraryRequest) -> None:
    """Refuse a forecast without its harvest, a reversed travel window and fixed visits that are
    unknown, out of sequence or repeated."""
    if req.culture_ready_by is not None and not any(v.kind == "harvest" for v in req.fixed_visits):
        raise _fail(
            "itinerary.invalid",
            "culture_ready_by",
            gettext_noop("A culture forecast needs the harvest date it was made for."),
        )
    for w in req.travel_windows:
        if w.end < w.start:
            raise _fail(
                "itinerary.invalid",
                "travel_windows",
                gettext_noop("A travel window ends before it starts."),
            )
    for v in req.fixed_visits:
        if v.kind not in VISIT_KINDS:
            raise _fail(
                "itinerary.invalid",
                "fixed_visits",
                gettext_noop("Unknown kind of visit: %(kind)s."),
                kind=v.kind,
            )
    infusions = sorted(v.sequence for v in req.fixed_visits if v.kind == "infusion")
    if infusions != list(range(1, len(infusions) + 1)) or len(infusions) > req.infusions:
        raise _fail(
            "itinerary.invalid",
            "fixed_visits",
            gettext_noop("Fixed infusions must be the first ones in the course, numbered from 1."),
        )
    for kind in ("consultation", "harvest", "assessment"):
        if sum(1 for v in req.fixed_visits if v.kind == kind) > 1:
            raise _fail(
                "itinerary.invalid",
                "fixed_visits",
                gettext_noop("Only one %(kind)s can be fixed."),
                kind=KIND_LABELS[kind],
            )


# --- search --------------------------------------------------------------------------------


@dataclass
class _Plan:
    visits: list[Visit]
    groups: list[tuple[int, int]]
    release: dt.date | None
    deviation: int
    trips: int
    nights: int
    end: int = 0


@dataclass
class _Ctx:
    req: ItineraryRequest
    cal: AvailabilityCache
    windows: list[TravelWindow]
    culture_days: int | None
    culture_source: str
    fixed: dict[tuple[str, int], Visit]
    failures: Counter[str] = field(default_factory=Counter)
    # Infusion chains already placed in this run. Consecutive harvest days share most first-infusion
    # days, and a chain depends only on its first day, its sequence and its bounds.
    chains: dict[tuple[dt.date, int, dt.date | None, dt.date], list[dt.date] | None] = field(
        default_factory=dict
    )
    # gap[s] = req.gap_before(s), asked thousands of times per run.
    gap: tuple[int, ...] = ()


# Later stages mean the candidate got further; the deepest failure is the most useful to report.
_STAGE = {
    "consultation_day": 1,
    "latest_return": 2,
    "infusion_day": 2,
    "assessment_day": 3,
    "travel_windows": 4,
    "visa_max_stay": 4,
}


def _windows(req: ItineraryRequest) -> list[TravelWindow]:
    if not req.travel_windows:
        return [TravelWindow(req.earliest_arrival, req.latest_return)]
    out = []
    for w in req.travel_windows:
        start, end = max(w.start, req.earliest_arrival), min(w.end, req.latest_return)
        if start <= end:
            out.append(TravelWindow(start, end))
    return out


def _partition(
    ctx: _Ctx, dates: Sequence[dt.date], windows: Sequence[TravelWindow]
) -> tuple[list[tuple[int, int]], int, int] | None:
    """Split visits (sorted by date) into trips: fewest trips then nights, or the reverse."""
    req = ctx.req
    ab, db, limit = req.arrival_buffer_days, req.departure_buffer_days, req.max_stay_days
    home = req.min_days_at_home
    days = [d.toordinal() for d in dates]
    spans = [(w.start.toordinal(), w.end.toordinal()) for w in windows]
    trips_first = req.objective == "fewest_trips"
    n = len(days)

    def fits(arrive: int, depart: int) -> bool:
        return any(s <= arrive and depart <= e for s, e in spans)

    if len(spans) == 1:
        lo, hi = spans[0]

        def fits(arrive: int, depart: int) -> bool:
            return lo <= arrive and depart <= hi

    if trips_first and n:
        # One stay is always the fewest trips, and its nights are fixed by the dates.
        arrive, depart = days[0] - ab, days[-1] + db
        if depart - arrive + 1 <= limit and fits(arrive, depart):
            return [(0, n)], 1, depart - arrive
    best: list[tuple[int, int, int] | None] = [None] * (n + 1)  # (primary, secondary, split)
    best[0] = (0, 0, -1)
    for j in range(1, n + 1):
        depart = days[j - 1] + db
        for i in range(j - 1, -1, -1):
            arrive = days[i] - ab
            if depart - arrive + 1 > limit:
                break
            prev = best[i]
            if prev is None:
                continue
            if i > 0 and arrive - (days[i - 1] + db) - 1 < home:
                continue
            if not fits(arrive, depart):
                continue
            nights = depart - arrive
            key = (
                (prev[0] + 1, prev[1] + nights, i)
                if trips_first
                else (prev[0] + nights, prev[1] + 1, i)
            )
            cur = best[j]
            if cur is None or key[:2] < cur[:2]:
                best[j] = key
    final = best[n]
    if final is None:
        return None
    groups: list[tuple[int, int]] = []
    j = n
    while j > 0:
        entry = best[j]
        assert entry is not None
        groups.append((entry[2], j))
        j = entry[2]
    groups.reverse()
    trips, nights = (final[0], final[1]) if trips_first else (final[1], final[0])
    return groups, trips, nights


def _flex_offsets(flex: int) -> list[int]:
    offsets = [0]
    for k in range(1, flex + 1):
        offsets += [-k, k]
    return offsets


def _infusion_chain(
    ctx: _Ctx, first: dt.date, start_seq: int, release: dt.date, last_allowed: dt.date
) -> list[dt.date] | None:
    """Place infusions start_seq..n after `first`, keeping each gap within target ± flex."""
    req = ctx.req
    # When no gap can step backwards (target - flex >= 0 for every later infusion), no day tried
    # is before `first`, so the release date cannot change the chain and is left out of the key.
    # (_validate refuses such gaps today; the key stays right should it ever allow them.)
    flex = req.interval_flex_days
    backwards = any(ctx.gap[s] - flex < 0 for s in range(start_seq + 1, req.infusions + 1))
    key = (first, start_seq, release if backwards or first < release else None, last_allowed)
    if key in ctx.chains:
        found = ctx.chains[key]
        return list(found) if found is not None else None
    result = _place_chain(ctx, first, start_seq, release, last_allowed)
    ctx.chains[key] = list(result) if result is not None else None
    return result


def _place_chain(
    ctx: _Ctx, first: dt.date, start_seq: int, release: dt.date, last_allowed: dt.date
) -> list[dt.date] | None:
    req = ctx.req
    offsets = _flex_offsets(req.interval_flex_days)
    dead: set[tuple[int, dt.date]] = set()
    chain = [first]

    def extend(seq: int) -> bool:
        if seq > req.infusions:
            return True
        prev = chain[-1]
        exact = prev + dt.timedelta(days=ctx.gap[seq])
        # The interval bends only to step around a day the clinic cannot take, never to save nights.
        tries = [0] if ctx.cal.ok(exact, "infusion") else offsets[1:]
        for off in tries:
            day = exact + dt.timedelta(days=off)
            if day < release or day > last_allowed or (seq, day) in dead:
                continue
            if not ctx.cal.ok(day, "infusion"):
                continue
            chain.append(day)
            if extend(seq + 1):
                return True
            chain.pop()
            dead.add((seq, day))
        return False

    return chain if extend(start_seq + 1) else None


def _assessment_day(ctx: _Ctx, last_infusion: dt.date) -> dt.date | None:
    offset = ctx.req.assessment_days_after_last_infusion
    assert offset is not None
    start = last_infusion + dt.timedelta(days=offset)
    for k in range(15):
        day = start + dt.timedelta(days=k)
        if day > ctx.req.latest_return - dt.timedelta(days=ctx.req.departure_buffer_days):
            return None
        if ctx.cal.ok(day, "assessment"):
            return day
    return None


def _release_for(ctx: _Ctx, harvest: dt.date | None) -> dt.date | None:
    req = ctx.req
    qc = dt.timedelta(days=req.qc_release_days)
    if req.culture_ready_by is not None:
        return req.culture_ready_by + qc
    if harvest is None or ctx.culture_days is None:
        return None
    return harvest + dt.timedelta(days=ctx.culture_days) + qc


def _candidates_for_harvest(ctx: _Ctx, harvest: dt.date | None) -> Iterable[_Plan]:
    """Yield complete plans for one harvest date (one per usable first-infusion day)."""
    req = ctx.req
    fixed = ctx.fixed
    visits: list[Visit] = []
    if harvest is not None:
        h_fixed = ("harvest", 1) in fixed
        if ("consultation", 1) in fixed:
            visits.append(fixed[("consultation", 1)])
        elif req.include_consultation and not h_fixed:
            lo = max(
                harvest - dt.timedelta(days=req.consultation_max_days_before_harvest),
                req.earliest_arrival + dt.timedelta(days=req.arrival_buffer_days),
            )
            day = harvest - dt.timedelta(days=req.consultation_min_days_before_harvest)
            while day >= lo and not ctx.cal.ok(day, "consultation"):
                day -= ONE_DAY
            if day < lo:
                ctx.failures["consultation_day"] += 1
                return
            visits.append(Visit(day, "consultation"))
        visits.append(fixed.get(("harvest", 1), Visit(harvest, "harvest")))
    release = _release_for(ctx, harvest)
    done = sorted((v for v in fixed.values() if v.kind == "infusion"), key=lambda v: v.sequence)
    visits += done
    tail = req.departure_buffer_days + (req.assessment_days_after_last_infusion or 0)
    last_allowed = req.latest_return - dt.timedelta(days=tail)
    fixed_assessment = fixed.get(("assessment", 1))

    chains: list[list[dt.date]] = []
    if len(done) == req.infusions:
        chains = [[]]
    elif done:
        floor = release or done[-1].date
        chain = _infusion_chain(ctx, done[-1].date, len(done), floor, last_allowed)
        if chain is None:
            ctx.failures["infusion_day"] += 1
            return
        chains = [chain[1:]]
    else:
        assert release is not None
        min_span = sum(ctx.gap[s] - req.interval_flex_days for s in range(2, req.infusions + 1))
        if release + dt.timedelta(days=min_span) > last_allowed:
            ctx.failures["latest_return"] += 1
            return
        for k in range(req.max_wait_after_release_days + 1):
            first = release + dt.timedelta(days=k)
            if first > last_allowed:
                break
            if not ctx.cal.ok(first, "infusion"):
                continue
            chain = _infusion_chain(ctx, first, 1, release, last_allowed)
            if chain is not None:
                chains.append(chain)
        if not chains:
            ctx.failures["infusion_day"] += 1
            return

    for chain in chains:
        seq0 = len(done) + 1
        plan_visits = visits + [Visit(d, "infusion", seq0 + i) for i, d in enumerate(chain)]
        deviation = 0
        infusion_days = [v.date for v in plan_visits if v.kind == "infusion"]
        for s in range(2, len(infusion_days) + 1):
            actual = (infusion_days[s - 1] - infusion_days[s - 2]).days
            deviation += abs(actual - ctx.gap[s])
        if fixed_assessment is not None:
            plan_visits.append(fixed_assessment)
        elif req.assessment_days_after_last_infusion is not None:
            a_day = _assessment_day(ctx, infusion_days[-1])
            if a_day is None:
                ctx.failures["assessment_day"] += 1
                continue
            plan_visits.append(Visit(a_day, "assessment"))
        yield from _with_trips(ctx, plan_visits, release, deviation)


_KIND_ORDER = {k: i for i, k in enumerate(VISIT_KINDS)}


def _with_trips(
    ctx: _Ctx, plan_visits: list[Visit], release: dt.date | None, deviation: int
) -> Iterable[_Plan]:
    order = _KIND_ORDER
    plan_visits.sort(key=lambda v: (v.date, order[v.kind], v.sequence))
    future = [v for v in plan_visits if v.date >= ctx.req.earliest_arrival]
    dates = [v.date for v in future]
    parted = _partition(ctx, dates, ctx.windows) if dates else ([], 0, 0)
    if parted is None:
        horizon = [TravelWindow(ctx.req.earliest_arrival, ctx.req.latest_return)]
        loose = _partition(ctx, dates, horizon)
        ctx.failures["travel_windows" if loose is not None else "visa_max_stay"] += 1
        return
    groups, trips, nights = parted
    end = plan_visits[-1].date.toordinal() if plan_visits else 0
    yield _Plan(plan_visits, groups, release, deviation, trips, nights, end)


def _precheck(ctx: _Ctx) -> None:
    """Catch plans that cannot work whatever the calendar, with a message naming the limit."""
    req = ctx.req
    if req.fixed_visits or req.culture_ready_by is not None:
        return
    consult = req.consultation_min_days_before_harvest if req.include_consultation else 0
    assert ctx.culture_days is not None
    lo_gaps = [req.gap_before(s) - req.interval_flex_days for s in range(2, req.infusions + 1)]
    assess = req.assessment_days_after_last_infusion or 0
    total = (
        req.arrival_buffer_days
        + consult
        + ctx.culture_days
        + req.qc_release_days
        + sum(lo_gaps)
        + assess
        + req.departure_buffer_days
    )
    needed = req.earliest_arrival + dt.timedelta(days=total)
    if needed > req.latest_return:
        raise _fail(
            "itinerary.window_too_short",
            "latest_return",
            gettext_noop(
                "The treatment needs at least %(days)s days from arrival, so the family could "
                "return no earlier than %(needed)s, after the latest return date %(latest)s."
            ),
            days=total,
            needed=needed,
            latest=req.latest_return,
        )
    # Infusions whose gap is too short to fly home in between must share one stay.
    split_needs = req.departure_buffer_days + req.arrival_buffer_days + req.min_days_at_home + 1
    blocks = [0]
    for s in range(2, req.infusions + 1):
        if req.gap_before(s) + req.interval_flex_days >= split_needs:
            blocks.append(0)
        else:
            blocks[-1] += req.gap_before(s) - req.interval_flex_days
    blocks[-1] += assess
    stay = req.arrival_buffer_days + max(blocks) + req.departure_buffer_days + 1
    if stay > req.max_stay_days:
        raise _fail(
            "itinerary.visa_max_stay",
            "max_stay_days",
            gettext_noop(
                "Infusions %(interval)s days apart are too close to go home in between, and "
                "together they need a stay of at least %(days)s days, longer than the %(max)s "
                "days the visa allows."
            ),
            interval=req.interval_days,
            days=stay,
            max=req.max_stay_days,
        )


def _raise_from_failures(ctx: _Ctx, harvest_tried: int) -> None:
    req = ctx.req
    if not harvest_tried:
        raise _fail(
            "itinerary.no_clinic_day",
            "clinic_calendar",
            gettext_noop("The clinic has no day for a harvest between %(start)s and %(end)s."),
            start=req.earliest_arrival,
            end=req.latest_return,
        )
    reason = max(ctx.failures, key=lambda r: (_STAGE[r], ctx.failures[r]))
    if reason == "visa_max_stay":
        raise _fail(
            "itinerary.visa_max_stay",
            "max_stay_days",
            gettext_noop(
                "No plan keeps every stay within the %(max)s days the visa allows, even with "
                "trips home between visits."
            ),
            max=req.max_stay_days,
        )
    if reason == "travel_windows":
        raise _fail(
            "itinerary.travel_windows",
            "travel_windows",
            gettext_noop("The visits cannot be fitted into the family's travel windows."),
        )
    if reason == "latest_return":
        raise _fail(
            "itinerary.window_too_short",
            "latest_return",
            gettext_noop(
                "The treatment cannot be finished before the latest return date %(latest)s."
            ),
            latest=req.latest_return,
        )
    if reason == "infusion_day":
        raise _fail(
            "itinerary.interval_blocked",
            "interval_days",
            gettext_noop(
                "Every schedule with infusions %(interval)s days apart (±%(flex)s) puts an "
                "infusion on a day the clinic is closed or full. Allowing the interval to flex "
                "may help."
            ),
            interval=req.interval_days,
            flex=req.interval_flex_days,
        )
    if reason == "assessment_day":
        raise _fail(
            "itinerary.no_clinic_day",
            "assessment_days_after_last_infusion",
            gettext_noop("The clinic has no day for the assessment after the last infusion."),
        )
    raise _fail(
        "itinerary.no_clinic_day",
        "clinic_calendar",
        gettext_noop("The clinic has no day for the consultation before the harvest."),
    )


def plan_itinerary(*, request: ItineraryRequest, calendar: ClinicCalendar) -> Itinerary:
    """Propose the plan with the fewest trips, then nights (or the reverse), or say what blocks it.

    Tries every harvest day in the horizon and each first-infusion day up to
    `max_wait_after_release_days` after release, places later infusions at the target interval
    (bending within the allowed flex only when a day is closed), then splits the visits into trips
    with an exact dynamic programme over the visa limit, travel windows and time at home. Among
    plans within `night_tolerance` of the best, exact intervals and an earlier finish win.
    """
    req = request
    _validate(req)
    harvest_visit = next((v for v in req.fixed_visits if v.kind == "harvest"), None)
    if req.culture_ready_by is not None:
        culture_days, source = None, "forecast"
    elif req.culture_days is not None:
        culture_days, source = req.culture_days, "request"
    else:
        culture_days, source = req.default_culture_days, "default"
    ctx = _Ctx(
        req=req,
        cal=AvailabilityCache(calendar),
        windows=_windows(req),
        culture_days=culture_days,
        culture_source=source,
        fixed={(v.kind, v.sequence): replace(v, fixed=True) for v in req.fixed_visits},
        gap=(0, 0, *(req.gap_before(s) for s in range(2, req.infusions + 2))),
    )
    _precheck(ctx)

    harvests: list[dt.date | None]
    if harvest_visit is not None:
        harvests = [harvest_visit.date]
    elif any(v.kind == "infusion" for v in req.fixed_visits):
        harvests = [None]  # the harvest happened before the period this plan covers
    else:
        first = req.earliest_arrival + dt.timedelta(days=req.arrival_buffer_days)
        if req.include_consultation:
            first += dt.timedelta(days=req.consultation_min_days_before_harvest)
        harvests = []
        day = first
        while day <= req.latest_return:
            if ctx.cal.ok(day, "harvest"):
                harvests.append(day)
            day += ONE_DAY

    plans = [plan for harvest in harvests for plan in _candidates_for_harvest(ctx, harvest)]
    if not plans:
        _raise_from_failures(ctx, len(harvests))
        raise AssertionError("unreachable")
    return _build_itinerary(ctx, _choose(req, plans))


def _choose(req: ItineraryRequest, plans: Sequence[_Plan]) -> _Plan:
    """Best by the objective; within `night_tolerance` extra nights, prefer exact intervals and an
    earlier finish, so the plan never starts months later or bends intervals to save one night."""
    if req.objective == "fewest_trips":
        trips = min(p.trips for p in plans)
        nights = min(p.nights for p in plans if p.trips == trips)
        near = [p for p in plans if p.trips == trips and p.nights <= nights + req.night_tolerance]
        return min(near, key=lambda p: (p.deviation, p.end, p.nights))
    nights = min(p.nights for p in plans)
    near = [p for p in plans if p.nights <= nights + req.night_tolerance]
    return min(near, key=lambda p: (p.trips, p.deviation, p.end, p.nights))


# --- explanations --------------------------------------------------------------------------


def _blocked_days(
    ctx: _Ctx, start: dt.date, end: dt.date, kind: str, *, limit: int = 6
) -> tuple[list[Message], bool]:
    """Explain the days in [start, end) that could not take `kind`; also say if any were free."""
    out: list[Message] = []
    any_free = False
    day = start
    while day < end:
        blocker: Blocker | None = ctx.cal.blocker(day, kind)
        if blocker is None:
            any_free = True
        elif len(out) < limit:
            params = {"date": day, **blocker.params}
            out.append(
                Message(f"day_blocked.{blocker.code}", BLOCKER_MESSAGES[blocker.code], params, day)
            )
        day += ONE_DAY
    return out, any_free


def _explain_visits(ctx: _Ctx, plan: _Plan) -> list[Message]:
    req = ctx.req
    out: list[Message] = []
    harvest = next((v for v in plan.visits if v.kind == "harvest"), None)
    prev_infusion: Visit | None = None
    total = req.infusions
    for v in plan.visits:
        if v.fixed:
            out.append(
                Message(
                    "visit_fixed",
                    gettext_noop("%(visit)s on %(date)s is already booked or done."),
                    {"visit": KIND_LABELS[v.kind], "date": v.date},
                    v.date,
                )
            )
        elif v.kind == "consultation" and harvest is not None:
            ideal = harvest.date - dt.timedelta(days=req.consultation_min_days_before_harvest)
            if v.date < ideal:
                blocked, _ = _blocked_days(ctx, v.date + ONE_DAY, ideal + ONE_DAY, v.kind)
                out += blocked
            out.append(
                Message(
                    "consultation",
                    gettext_noop(
                        "Consultation and infection tests on %(date)s, %(days)s day(s) before the "
                        "harvest, so the results are back in time."
                    ),
                    {"date": v.date, "days": (harvest.date - v.date).days},
                    v.date,
                )
            )
        elif v.kind == "harvest":
            earliest = req.earliest_arrival + dt.timedelta(days=req.arrival_buffer_days)
            if req.include_consultation:
                earliest += dt.timedelta(days=req.consultation_min_days_before_harvest)
            blocked, any_free = _blocked_days(ctx, earliest, v.date, v.kind)
            out += blocked
            if any_free:
                msgid = gettext_noop(
                    "Harvest (fat collection) on %(date)s. Earlier free days were not used "
                    "because this date gives the plan with the fewest trips and nights."
                )
                code = "harvest_for_plan"
            else:
                msgid = gettext_noop(
                    "Harvest (fat collection) on %(date)s, the first day the clinic can do it "
                    "after arrival."
                )
                code = "harvest_earliest"
            out.append(Message(code, msgid, {"date": v.date}, v.date))
        if v.kind == "harvest" and plan.release is not None:
            out.append(_release_message(ctx, plan, v.date))
        if v.kind == "infusion":
            if not v.fixed:
                out += _explain_infusion(ctx, plan, v, prev_infusion, total)
            prev_infusion = v
        if v.kind == "assessment" and not v.fixed and prev_infusion is not None:
            out.append(
                Message(
                    "assessment",
                    gettext_noop(
                        "Assessment on %(date)s, %(days)s day(s) after the last infusion."
                    ),
                    {"date": v.date, "days": (v.date - prev_infusion.date).days},
                    v.date,
                )
            )
    if harvest is None and plan.release is not None:
        out.insert(0, _release_message(ctx, plan, None))
    return out


def _release_message(ctx: _Ctx, plan: _Plan, harvest: dt.date | None) -> Message:
    req = ctx.req
    assert plan.release is not None
    if req.culture_ready_by is not None:
        return Message(
            "release_forecast",
            gettext_noop(
                "Cells are expected to be released on %(date)s: the latest ready date of the "
                "expansion forecast (%(ready)s) plus %(qc)s day(s) for the quality-control release."
            ),
            {"date": plan.release, "ready": req.culture_ready_by, "qc": req.qc_release_days},
            plan.release,
        )
    return Message(
        "release_planned",
        gettext_noop(
            "Cells are expected to be released on %(date)s: harvest on %(harvest)s, then %(culture)s "
            "days of culture (%(source)s), then %(qc)s day(s) for the quality-control release."
        ),
        {
            "date": plan.release,
            "harvest": harvest,
            "culture": ctx.culture_days,
            "source": CULTURE_SOURCES[ctx.culture_source],
            "qc": req.qc_release_days,
        },
        plan.release,
    )


def _explain_infusion(
    ctx: _Ctx, plan: _Plan, v: Visit, prev: Visit | None, total: int
) -> list[Message]:
    req = ctx.req
    out: list[Message] = []
    if prev is None:
        start = plan.release or v.date
        blocked, any_free = _blocked_days(ctx, start, v.date, "infusion")
        out += blocked
        params = {"n": v.sequence, "total": total, "date": v.date, "wait": (v.date - start).days}
        if any_free:
            out.append(
                Message(
                    "infusion_first_for_interval",
                    gettext_noop(
                        "Infusion %(n)s of %(total)s on %(date)s, %(wait)s day(s) after release: "
                        "starting here lets the later infusions keep their interval."
                    ),
                    params,
                    v.date,
                )
            )
        else:
            out.append(
                Message(
                    "infusion_first",
                    gettext_noop(
                        "Infusion %(n)s of %(total)s on %(date)s, the first suitable clinic day "
                        "after the cells are released."
                    ),
                    params,
                    v.date,
                )
            )
        return out
    target = req.gap_before(v.sequence)
    actual = (v.date - prev.date).days
    params = {"n": v.sequence, "total": total, "date": v.date, "days": actual, "target": target}
    if actual == target:
        out.append(
            Message(
                "infusion_interval",
                gettext_noop(
                    "Infusion %(n)s of %(total)s on %(date)s, %(days)s days after the previous one, "
                    "as planned."
                ),
                params,
                v.date,
            )
        )
        return out
    ideal = prev.date + dt.timedelta(days=target)
    blocked, _ = _blocked_days(ctx, ideal, ideal + ONE_DAY, "infusion")
    out += blocked
    out.append(
        Message(
            "infusion_interval_flexed",
            gettext_noop(
                "Infusion %(n)s of %(total)s on %(date)s, %(days)s days after the previous one "
                "instead of %(target)s (the plan allows ±%(flex)s days)."
            ),
            {**params, "flex": req.interval_flex_days},
            v.date,
        )
    )
    return out


def _explain_trips(ctx: _Ctx, trips: Sequence[Trip]) -> list[Message]:
    req = ctx.req
    out: list[Message] = []
    for n, t in enumerate(trips, start=1):
        out.append(
            Message(
                "trip",
                gettext_noop(
                    "Trip %(n)s: arrive %(arrive)s and leave %(depart)s (%(nights)s nights), "
                    "arriving %(ab)s day(s) before the first visit and leaving %(db)s day(s) "
                    "after the last."
                ),
                {
                    "n": n,
                    "arrive": t.arrive,
                    "depart": t.depart,
                    "nights": t.nights,
                    "ab": req.arrival_buffer_days,
                    "db": req.departure_buffer_days,
                },
                t.arrive,
            )
        )
    if len(trips) > 1:
        arrive, depart = trips[0].arrive, trips[-1].depart
        days = (depart - arrive).days + 1
        if days > req.max_stay_days:
            out.append(
                Message(
                    "trip_split_visa",
                    gettext_noop(
                        "One stay from %(arrive)s to %(depart)s would last %(days)s days, longer "
                        "than the %(max)s days the visa allows, so the plan goes home between visits."
                    ),
                    {"arrive": arrive, "depart": depart, "days": days, "max": req.max_stay_days},
                )
            )
        elif not any(w.start <= arrive and depart <= w.end for w in ctx.windows):
            out.append(
                Message(
                    "trip_split_window",
                    gettext_noop(
                        "The family's travel windows do not allow one continuous stay, so the "
                        "plan has %(trips)s trips."
                    ),
                    {"trips": len(trips)},
                )
            )
        else:
            out.append(
                Message(
                    "trip_split_nights",
                    gettext_noop(
                        "Going home while waiting saves nights in Japan, as the plan is set to "
                        "the fewest nights."
                    ),
                    {},
                )
            )
    out.append(
        Message(
            "total",
            gettext_noop("In total: %(trips)s trip(s) and %(nights)s nights in Japan."),
            {"trips": len(trips), "nights": sum(t.nights for t in trips)},
        )
    )
    return out


def _build_itinerary(ctx: _Ctx, plan: _Plan) -> Itinerary:
    req = ctx.req
    future = [v for v in plan.visits if v.date >= req.earliest_arrival]
    past = tuple(v for v in plan.visits if v.date < req.earliest_arrival)
    ab, db = (
        dt.timedelta(days=req.arrival_buffer_days),
        dt.timedelta(days=req.departure_buffer_days),
    )
    trips = tuple(
        Trip(future[i].date - ab, future[j - 1].date + db, tuple(future[i:j]))
        for i, j in plan.groups
    )
    explanations = _explain_visits(ctx, plan) + _explain_trips(ctx, trips)
    return Itinerary(
        trips=trips,
        explanations=tuple(explanations),
        release_date=plan.release,
        culture_days=ctx.culture_days,
        culture_source=ctx.culture_source,
        past_visits=past,
        objective=req.objective,
    )


# --- re-planning ---------------------------------------------------------------------------


def fix_visits_through(
    *, request: ItineraryRequest, itinerary: Itinerary, through: dt.date, **changes: Any
) -> ItineraryRequest:
    """Freeze the visits on or before `through` (done or booked) and apply `changes` for a re-plan."""
    kept = {v.key: v for v in request.fixed_visits}
    for v in itinerary.all_visits:
        if v.date <= through:
            kept[v.key] = replace(v, fixed=True)
    return replace(request, fixed_visits=tuple(kept.values()), **changes)


def diff_itineraries(*, old: Itinerary, new: Itinerary) -> list[Message]:
    """List what moved between two plans, so the family and coordinator see what changed and why."""
    out: list[Message] = []
    if old.release_date != new.release_date and old.release_date and new.release_date:
        out.append(
            Message(
                "release_moved",
                gettext_noop(
                    "Expected cell release moved from %(old)s to %(new)s (%(delta)+d days)."
                ),
                {
                    "old": old.release_date,
                    "new": new.release_date,
                    "delta": (new.release_date - old.release_date).days,
                },
                new.release_date,
            )
        )
    out += _visit_changes(old, new)
    out += _trip_changes(old, new)
    if old.total_nights != new.total_nights:
        out.append(
            Message(
                "nights_changed",
                gettext_noop("Nights in Japan changed from %(old)s to %(new)s."),
                {"old": old.total_nights, "new": new.total_nights},
            )
        )
    return out


def _visit_changes(old: Itinerary, new: Itinerary) -> list[Message]:
    """Each visit moved, added or removed between two plans, in course order."""
    out: list[Message] = []
    old_v = {v.key: v for v in old.all_visits}
    new_v = {v.key: v for v in new.all_visits}
    order = {k: i for i, k in enumerate(VISIT_KINDS)}
    for key in sorted(old_v.keys() | new_v.keys(), key=lambda k: (order[k[0]], k[1])):
        label = KIND_LABELS[key[0]]
        before, after = old_v.get(key), new_v.get(key)
        if before and after and before.date != after.date:
            out.append(
                Message(
                    "visit_moved",
                    gettext_noop(
                        "%(visit)s (no. %(n)s) moved from %(old)s to %(new)s (%(delta)+d days)."
                    ),
                    {
                        "visit": label,
                        "n": key[1],
                        "old": before.date,
                        "new": after.date,
                        "delta": (after.date - before.date).days,
                    },
                    after.date,
                )
            )
        elif after and not before:
            out.append(
                Message(
                    "visit_added",
                    gettext_noop("%(visit)s (no. %(n)s) added on %(new)s."),
                    {"visit": label, "n": key[1], "new": after.date},
                    after.date,
                )
            )
        elif before and not after:
            out.append(
                Message(
                    "visit_removed",
                    gettext_noop("%(visit)s (no. %(n)s) on %(old)s removed."),
                    {"visit": label, "n": key[1], "old": before.date},
                    before.date,
                )
            )
    return out


def _trip_changes(old: Itinerary, new: Itinerary) -> list[Message]:
    """A change in the number of trips, and each trip whose dates moved."""
    out: list[Message] = []
    if len(old.trips) != len(new.trips):
        out.append(
            Message(
                "trips_changed",
                gettext_noop("Number of trips changed from %(old)s to %(new)s."),
                {"old": len(old.trips), "new": len(new.trips)},
            )
        )
    for n, (a, b) in enumerate(zip(old.trips, new.trips, strict=False), start=1):
        if (a.arrive, a.depart) != (b.arrive, b.depart):
            out.append(
                Message(
                    "trip_moved",
                    gettext_noop(
                        "Trip %(n)s now runs from %(arrive)s to %(depart)s (was %(old_arrive)s "
                        "to %(old_depart)s)."
                    ),
                    {
                        "n": n,
                        "arrive": b.arrive,
                        "depart": b.depart,
                        "old_arrive": a.arrive,
                        "old_depart": a.depart,
                    },
                    b.arrive,
                )
            )
    return out


# --- printable -----------------------------------------------------------------------------


def itinerary_text(*, itinerary: Itinerary, patient_label: str, language: str) -> str:
    """Plain-text itinerary in the family's language, for printing or a PDF body."""
    from django.utils import translation

    with translation.override(language):
        lines = [gettext("Treatment itinerary for %(patient)s") % {"patient": patient_label}, ""]
        for n, trip in enumerate(itinerary.trips, start=1):
            lines.append(
                gettext("Trip %(n)s: %(arrive)s to %(depart)s (%(nights)s nights)")
                % {
                    "n": n,
                    "arrive": trip.arrive.isoformat(),
                    "depart": trip.depart.isoformat(),
                    "nights": trip.nights,
                }
            )
            for v in trip.visits:
                lines.append(f"  {v.date.isoformat()}  {_visit_title(v, itinerary)}")
            lines.append("")
        lines.append(gettext("Why these dates"))
        lines += [f"- {m.render()}" for m in itinerary.explanations]
    return "\n".join(lines) + "\n"


def _visit_title(v: Visit, itinerary: Itinerary) -> str:
    if v.kind == "infusion":
        total = max((x.sequence for x in itinerary.all_visits if x.kind == "infusion"), default=1)
        return gettext("Infusion %(n)s of %(total)s") % {"n": v.sequence, "total": total}
    return gettext(KIND_LABELS[v.kind].msgid)
