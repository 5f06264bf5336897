"""Bridges between stored itinerary requests (JSON) and the pure planner, and the clinic calendar."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .itinerary import (
    ClinicCalendar,
    Itinerary,
    ItineraryInfeasible,
    ItineraryRequest,
    TravelWindow,
    Visit,
    plan_itinerary,
    standard_closures,
)

REQUEST_KEYS = (
    "earliest_arrival",
    "latest_return",
    "culture_days",
    "infusions",
    "interval_days",
    "max_stay_days",
    "culture_ready_by",
)


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def request_from_data(data: dict[str, Any]) -> ItineraryRequest:
    """Build the planner's request from stored or posted JSON (dates as ISO strings)."""
    kwargs: dict[str, Any] = {
        "earliest_arrival": _date(data["earliest_arrival"]),
        "latest_return": _date(data["latest_return"]),
        "infusions": int(data["infusions"]),
        "interval_days": int(data["interval_days"]),
        "max_stay_days": int(data.get("max_stay_days") or 90),
    }
    if data.get("culture_days") not in (None, ""):
        kwargs["culture_days"] = int(data["culture_days"])
    if data.get("culture_ready_by"):
        kwargs["culture_ready_by"] = _date(data["culture_ready_by"])
    if data.get("travel_windows"):
        kwargs["travel_windows"] = tuple(
            TravelWindow(_date(w["start"]), _date(w["end"]))  # type: ignore[arg-type]
            for w in data["travel_windows"]
        )
    if data.get("fixed_visits"):
        kwargs["fixed_visits"] = tuple(
            Visit(_date(v["date"]), v["kind"], int(v.get("sequence", 1)), True)  # type: ignore[arg-type]
            for v in data["fixed_visits"]
        )
    return ItineraryRequest(**kwargs)


def request_to_data(req: ItineraryRequest) -> dict[str, Any]:
    out: dict[str, Any] = {
        "earliest_arrival": req.earliest_arrival.isoformat(),
        "latest_return": req.latest_return.isoformat(),
        "infusions": req.infusions,
        "interval_days": req.interval_days,
        "max_stay_days": req.max_stay_days,
        "culture_days": req.culture_days,
        "culture_ready_by": req.culture_ready_by.isoformat() if req.culture_ready_by else None,
    }
    if req.travel_windows:
        out["travel_windows"] = [
            {"start": w.start.isoformat(), "end": w.end.isoformat()} for w in req.travel_windows
        ]
    if req.fixed_visits:
        out["fixed_visits"] = [v.as_dict() for v in req.fixed_visits]
    return out


def clinic_calendar(*, institution: Any = None, start: dt.date, end: dt.date) -> ClinicCalendar:
    """The clinic's opening days and closures (year end, Golden Week) for the planning horizon.

    Closed Sundays and public holidays by default; a clinic overrides the defaults through the
    JOURNEY_CLINIC_CALENDAR setting (journey facts §3: closures vary by clinic).
    """
    conf = getattr(settings, "JOURNEY_CLINIC_CALENDAR", {}) or {}
    years = range(start.year - 1, end.year + 2)
    return ClinicCalendar(
        open_weekdays=frozenset(conf.get("open_weekdays", (0, 1, 2, 3, 4, 5))),
        closures=standard_closures(years=years),
        daily_capacity=conf.get("daily_capacity", {}),
    )


# A treatment journey is planned at most three years ahead, within years the clinic calendar and
# the public-holiday table cover; a wider request would make the planner walk millions of days.
MAX_HORIZON_DAYS = 3 * 366
FIRST_YEAR, LAST_YEAR = 2000, 2100


def _check_horizon(req: ItineraryRequest) -> None:
    for name, day in (
        ("earliest_arrival", req.earliest_arrival),
        ("latest_return", req.latest_return),
    ):
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            message = _("Dates must be between %(first)d and %(last)d.") % {
                "first": FIRST_YEAR,
                "last": LAST_YEAR,
            }
            raise ItineraryInfeasible("itinerary.date_out_of_range", message, name)
    if (req.latest_return - req.earliest_arrival).days > MAX_HORIZON_DAYS:
        message = _("The planning window can be at most %(days)d days long.") % {
            "days": MAX_HORIZON_DAYS
        }
        raise ItineraryInfeasible("itinerary.horizon_too_long", message, "latest_return")


def plan(data: dict[str, Any], *, institution: Any = None) -> tuple[ItineraryRequest, Itinerary]:
    req = request_from_data(data)
    _check_horizon(req)
    cal = clinic_calendar(
        institution=institution, start=req.earliest_arrival, end=req.latest_return
    )
    return req, plan_itinerary(request=req, calendar=cal)
