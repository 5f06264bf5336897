"""The itinerary planner: dates a family can rely on, each explained, and honest refusals."""

from __future__ import annotations

import ast
import datetime as dt
import itertools
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saisei.core.catalogues import translations
from saisei.journey.clinic_calendar import AvailabilityCache
from saisei.journey.itinerary import (
    ClinicCalendar,
    Closure,
    ItineraryInfeasible,
    ItineraryRequest,
    TravelWindow,
    Visit,
    diff_itineraries,
    fix_visits_through,
    itinerary_text,
    plan_itinerary,
    standard_closures,
)

JA = translations("journey", "ja")


D = dt.date
CLINIC = ClinicCalendar(closures=standard_closures(years=range(2026, 2029)))


def _req(**kw):
    base = {
        "earliest_arrival": D(2027, 3, 1),
        "latest_return": D(2027, 12, 20),
        "infusions": 3,
        "interval_days": 14,
        "culture_days": 28,
    }
    base.update(kw)
    return ItineraryRequest(**base)


def _codes(itinerary):
    return [m.code for m in itinerary.explanations]


def _visit(itinerary, kind, seq=1):
    return next(v for v in itinerary.all_visits if v.kind == kind and v.sequence == seq)


def _in_closure(day, calendar=CLINIC):
    return any(c.covers(day) for c in calendar.closures)


def test_single_trip_keeps_interval_and_explains_every_visit():
    it = plan_itinerary(request=_req(), calendar=CLINIC)
    assert len(it.trips) == 1
    infusions = [v.date for v in it.visits if v.kind == "infusion"]
    assert [(b - a).days for a, b in itertools.pairwise(infusions)] == [14, 14]
    assert infusions[0] >= it.release_date
    assert it.release_date == _visit(it, "harvest").date + dt.timedelta(days=28 + 1)
    explained = {m.date for m in it.explanations if m.date}
    assert {v.date for v in it.visits} <= explained
    trip = it.trips[0]
    assert trip.arrive == it.visits[0].date - dt.timedelta(days=1)
    assert trip.depart == it.visits[-1].date + dt.timedelta(days=1)
    assert it.total_nights == trip.nights


def test_api_shape_matches_itinerary_preview_endpoint():
    data = plan_itinerary(request=_req(), calendar=CLINIC).as_dict(language="en")
    assert set(data) >= {"trips", "explanations"}
    trip = data["trips"][0]
    assert set(trip) >= {"arrive", "depart", "visits"}
    assert {v["kind"] for v in trip["visits"]} == {
        "consultation",
        "harvest",
        "infusion",
        "assessment",
    }
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", v["date"]) for v in trip["visits"])
    assert all(isinstance(m["message"], str) and m["code"] for m in data["explanations"])


def test_default_culture_time_is_used_and_named_when_no_forecast_exists():
    it = plan_itinerary(request=_req(culture_days=None, default_culture_days=35), calendar=CLINIC)
    assert it.culture_source == "default"
    assert it.release_date == _visit(it, "harvest").date + dt.timedelta(days=36)
    release = next(m for m in it.explanations if m.code == "release_planned")
    assert "default culture time" in release.render(language="en")


def test_harvest_just_before_the_year_end_closure():
    # The family can come before the New Year break, and again from 20 January to 10 March:
    # too short for harvest, culture and infusions in one stay, so the harvest goes before.
    req = _req(
        earliest_arrival=D(2026, 12, 20),
        latest_return=D(2027, 3, 10),
        travel_windows=(
            TravelWindow(D(2026, 12, 20), D(2026, 12, 29)),
            TravelWindow(D(2027, 1, 20), D(2027, 3, 10)),
        ),
    )
    it = plan_itinerary(request=req, calendar=CLINIC)
    harvest = _visit(it, "harvest").date
    assert harvest <= D(2026, 12, 28)
    assert not any(_in_closure(v.date) for v in it.visits)
    assert len(it.trips) == 2
    assert it.trips[0].depart <= D(2026, 12, 29)
    assert "trip_split_window" in _codes(it)


def test_free_harvest_date_avoids_cells_waiting_out_the_new_year_closure():
    # A harvest on 2 December would leave the family waiting out the whole closure for infusion 1.
    req = _req(earliest_arrival=D(2026, 11, 30), latest_return=D(2027, 6, 30))
    it = plan_itinerary(request=req, calendar=CLINIC)
    assert (_visit(it, "infusion", 1).date - it.release_date).days <= req.night_tolerance
    strict = plan_itinerary(request=_req(**{**req.__dict__, "night_tolerance": 0}), calendar=CLINIC)
    assert _visit(strict, "infusion", 1).date == strict.release_date
    assert not _in_closure(strict.release_date)


def test_release_during_the_new_year_closure_waits_and_says_why():
    req = _req(
        earliest_arrival=D(2026, 11, 30),
        latest_return=D(2027, 6, 30),
        fixed_visits=(Visit(D(2026, 12, 1), "consultation"), Visit(D(2026, 12, 2), "harvest")),
    )
    it = plan_itinerary(request=req, calendar=CLINIC)
    assert it.release_date == D(2026, 12, 31)
    assert _visit(it, "infusion", 1).date == D(2027, 1, 4)
    codes = _codes(it)
    assert "day_blocked.closure" in codes
    assert "day_blocked.public_holiday" in codes  # 1 January
    text = " ".join(m.render(language="en") for m in it.explanations)
    assert "New Year's Day" in text and "year-end and New Year closure" in text


def test_forecast_slipping_two_weeks_moves_infusions_and_reports_changes():
    old = plan_itinerary(request=_req(), calendar=CLINIC)
    harvest = _visit(old, "harvest").date
    slipped = old.release_date - dt.timedelta(days=1) + dt.timedelta(days=14)
    req = fix_visits_through(
        request=_req(), itinerary=old, through=harvest, culture_ready_by=slipped
    )
    new = plan_itinerary(request=req, calendar=CLINIC)
    assert _visit(new, "harvest").date == harvest
    assert _visit(new, "consultation").date == _visit(old, "consultation").date
    assert new.release_date == old.release_date + dt.timedelta(days=14)
    assert _visit(new, "infusion", 1).date >= new.release_date
    changes = diff_itineraries(old=old, new=new)
    codes = [c.code for c in changes]
    assert "release_moved" in codes
    moved = [c for c in changes if c.code == "visit_moved"]
    assert {c.params["n"] for c in moved} == {1, 2, 3}
    assert all(c.params["delta"] >= 14 for c in moved if c.params["visit"].msgid == "Infusion")
    assert "nights_changed" in codes
    assert not any(
        c.code == "visit_moved" and c.params["visit"].msgid == "Harvest" for c in changes
    )
    forecast = next(m for m in new.explanations if m.code == "release_forecast")
    assert forecast.params["ready"] == slipped


def test_visa_limit_forces_a_second_trip():
    req = _req(infusions=10, interval_days=14, culture_days=35, max_stay_days=90)
    it = plan_itinerary(request=req, calendar=CLINIC)
    assert len(it.trips) == 2
    assert all(t.days <= 90 for t in it.trips)
    gap = (it.trips[1].arrive - it.trips[0].depart).days - 1
    assert gap >= req.min_days_at_home
    assert "trip_split_visa" in _codes(it)
    assert sum(1 for v in it.visits if v.kind == "infusion") == 10


def test_interval_landing_on_a_holiday_shifts_the_series_without_flex():
    # Release 15 Apr 2027; +14 days is Showa Day (29 Apr), a public holiday.
    cal = ClinicCalendar()
    fixed = (Visit(D(2027, 3, 16), "harvest"),)
    req = _req(earliest_arrival=D(2027, 3, 14), culture_days=29, fixed_visits=fixed)
    it = plan_itinerary(request=req, calendar=cal)
    days = [v.date for v in it.visits if v.kind == "infusion"]
    assert D(2027, 4, 29) not in days
    assert [(b - a).days for a, b in itertools.pairwise(days)] == [14, 14]
    assert days[0] == D(2027, 4, 16)
    assert "infusion_first_for_interval" in _codes(it)


def test_interval_landing_on_a_holiday_flexes_when_allowed():
    # Fresh cells go in on release day, so the series cannot shift; the interval bends instead.
    cal = ClinicCalendar()
    fixed = (Visit(D(2027, 3, 16), "harvest"),)
    req = _req(
        earliest_arrival=D(2027, 3, 14),
        culture_days=29,
        fixed_visits=fixed,
        interval_flex_days=2,
        max_wait_after_release_days=0,
    )
    it = plan_itinerary(request=req, calendar=cal)
    days = [v.date for v in it.visits if v.kind == "infusion"]
    assert days[0] == D(2027, 4, 15)
    assert D(2027, 4, 29) not in days
    gaps = [(b - a).days for a, b in itertools.pairwise(days)]
    assert all(12 <= g <= 16 for g in gaps) and gaps != [14, 14]
    holiday = next(m for m in it.explanations if m.code == "day_blocked.public_holiday")
    assert holiday.date == D(2027, 4, 29)
    assert "Showa Day" in holiday.render(language="en")
    assert "infusion_interval_flexed" in _codes(it)


def test_interval_that_always_hits_a_closed_day_is_refused_with_the_constraint():
    cal = ClinicCalendar()
    fixed = (Visit(D(2027, 3, 16), "harvest"),)
    req = _req(
        earliest_arrival=D(2027, 3, 14),
        culture_days=29,
        fixed_visits=fixed,
        max_wait_after_release_days=0,
    )
    with pytest.raises(ItineraryInfeasible) as exc:
        plan_itinerary(request=req, calendar=cal)
    assert exc.value.code == "itinerary.interval_blocked"
    assert exc.value.constraint == "interval_days"
    assert "interval_days" in exc.value.fields


def test_too_short_a_window_says_how_long_is_needed():
    req = _req(latest_return=D(2027, 4, 1))
    with pytest.raises(ItineraryInfeasible) as exc:
        plan_itinerary(request=req, calendar=CLINIC)
    assert exc.value.code == "itinerary.window_too_short"
    assert exc.value.constraint == "latest_return"
    assert "2027-04-01" in str(exc.value.message)


def test_infusions_too_close_to_go_home_and_too_many_for_the_visa_are_refused():
    req = _req(infusions=10, interval_days=7, max_stay_days=60)
    with pytest.raises(ItineraryInfeasible) as exc:
        plan_itinerary(request=req, calendar=CLINIC)
    assert exc.value.code == "itinerary.visa_max_stay"
    assert exc.value.constraint == "max_stay_days"


def test_travel_windows_that_cannot_hold_the_visits_are_refused():
    req = _req(
        travel_windows=(
            TravelWindow(D(2027, 3, 1), D(2027, 3, 10)),
            TravelWindow(D(2027, 3, 20), D(2027, 3, 25)),
        )
    )
    with pytest.raises(ItineraryInfeasible) as exc:
        plan_itinerary(request=req, calendar=CLINIC)
    assert exc.value.constraint in {"travel_windows", "latest_return"}


def test_clinic_without_any_open_day_is_refused():
    with pytest.raises(ItineraryInfeasible) as exc:
        plan_itinerary(request=_req(), calendar=ClinicCalendar(open_weekdays=frozenset()))
    assert exc.value.code == "itinerary.no_clinic_day"
    assert exc.value.constraint == "clinic_calendar"


def test_full_days_and_monthly_closed_tuesdays_are_avoided_and_explained():
    # A clinic closed on Sundays and the 1st and 2nd Tuesday, as in journey facts §3.
    first_try = plan_itinerary(request=_req(), calendar=CLINIC)
    harvest = _visit(first_try, "harvest").date
    cal = ClinicCalendar(
        closures=CLINIC.closures,
        closed_nth_weekdays=frozenset({(1, 1), (2, 1)}),
        daily_capacity={"harvest": 1},
        bookings={harvest: {"harvest": 1}},
    )
    it = plan_itinerary(request=_req(), calendar=cal)
    assert _visit(it, "harvest").date != harvest
    for v in it.visits:
        assert not (v.date.weekday() == 1 and v.date.day <= 14)
        assert cal.is_available(day=v.date, kind=v.kind)


def test_fewest_nights_sends_the_family_home_during_culture():
    req = _req(objective="fewest_nights")
    it = plan_itinerary(request=req, calendar=CLINIC)
    single = plan_itinerary(request=_req(), calendar=CLINIC)
    assert len(it.trips) > 1
    assert it.total_nights < single.total_nights
    assert "trip_split_nights" in _codes(it)


def test_invalid_request_names_the_field():
    with pytest.raises(ItineraryInfeasible) as exc:
        plan_itinerary(request=_req(infusions=0), calendar=CLINIC)
    assert exc.value.constraint == "infusions"
    with pytest.raises(ItineraryInfeasible) as exc:
        plan_itinerary(request=_req(culture_ready_by=D(2027, 4, 1)), calendar=CLINIC)
    assert exc.value.constraint == "culture_ready_by"
    with pytest.raises(ItineraryInfeasible) as exc:
        plan_itinerary(request=_req(fixed_visits=(Visit(D(2027, 4, 1), "spa"),)), calendar=CLINIC)
    assert exc.value.constraint == "fixed_visits"


def test_printable_itinerary_lists_trips_and_reasons():
    it = plan_itinerary(request=_req(), calendar=CLINIC)
    text = itinerary_text(itinerary=it, patient_label="Family Tanaka", language="en")
    assert "Family Tanaka" in text
    assert "Infusion 3 of 3" in text
    assert text.count("Trip 1") >= 1
    assert len(text.splitlines()) > len(it.visits)


def test_standard_closures_cover_new_year_and_golden_week():
    closures = standard_closures(years=[2027])
    assert any(c.covers(D(2027, 1, 2)) for c in closures)
    assert any(c.covers(D(2027, 12, 30)) for c in closures)
    assert any(c.covers(D(2027, 5, 1)) and c.reason == "golden_week" for c in closures)
    assert not any(c.covers(D(2027, 8, 14)) for c in closures)  # Obon is opt-in (unverified)
    assert any(c.reason == "obon" for c in standard_closures(years=[2027], obon=((8, 13), (8, 16))))


def test_substitute_holiday_is_named_as_such():
    # 6 May 2024 was the substitute holiday for Children's Day.
    blocker = ClinicCalendar().blocker(day=D(2024, 5, 6), kind="infusion")
    assert blocker is not None and blocker.code == "substitute_holiday"
    assert blocker.params["holiday"].msgid == "Children's Day"


def test_extra_open_date_overrides_a_closure():
    cal = ClinicCalendar(
        closures=(Closure(D(2027, 5, 1), D(2027, 5, 5), "golden_week"),),
        extra_open_dates=frozenset({D(2027, 5, 1)}),
    )
    assert cal.is_available(day=D(2027, 5, 1), kind="infusion")
    assert not cal.is_available(day=D(2027, 5, 2), kind="infusion")


@st.composite
def _scenario(draw):
    start = D(2027, 1, 1) + dt.timedelta(days=draw(st.integers(0, 364)))
    horizon = draw(st.integers(60, 300))
    req = ItineraryRequest(
        earliest_arrival=start,
        latest_return=start + dt.timedelta(days=horizon),
        infusions=draw(st.integers(1, 6)),
        interval_days=draw(st.sampled_from([7, 14, 21, 28])),
        interval_flex_days=draw(st.integers(0, 2)),
        culture_days=draw(st.integers(14, 42)),
        qc_release_days=draw(st.integers(0, 3)),
        max_stay_days=draw(st.sampled_from([30, 60, 90])),
        objective=draw(st.sampled_from(["fewest_trips", "fewest_nights"])),
    )
    cal = ClinicCalendar(
        open_weekdays=frozenset(draw(st.sets(st.integers(0, 6), min_size=2))),
        closures=standard_closures(years=range(2026, 2030)),
    )
    return req, cal


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_scenario())
def test_every_plan_respects_calendar_interval_visa_and_horizon(scenario):
    req, cal = scenario
    try:
        it = plan_itinerary(request=req, calendar=cal)
    except ItineraryInfeasible as exc:
        assert exc.code.startswith("itinerary.") and exc.constraint
        return
    avail = AvailabilityCache(cal)
    for v in it.visits:
        assert avail.ok(v.date, v.kind), v
    days = [v.date for v in it.visits if v.kind == "infusion"]
    assert len(days) == req.infusions
    assert days[0] >= it.release_date
    for a, b in itertools.pairwise(days):
        assert abs((b - a).days - req.interval_days) <= req.interval_flex_days
    previous_depart = None
    for t in it.trips:
        assert t.days <= req.max_stay_days
        assert req.earliest_arrival <= t.arrive and t.depart <= req.latest_return
        assert t.arrive <= t.visits[0].date - dt.timedelta(days=req.arrival_buffer_days)
        assert t.visits[-1].date + dt.timedelta(days=req.departure_buffer_days) <= t.depart
        if previous_depart is not None:
            assert (t.arrive - previous_depart).days - 1 >= req.min_days_at_home
        previous_depart = t.depart


def _msgids() -> set[str]:
    found: set[str] = set()
    root = Path(__file__).resolve().parents[1]
    for name in ("itinerary", "clinic_calendar", "prescreen", "pricing", "ical"):
        tree = ast.parse((root / f"{name}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"gettext_noop", "gettext"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


def test_every_message_has_japanese_with_the_same_placeholders():
    placeholder = re.compile(r"%\((\w+)\)[+]?[sd]")
    missing = _msgids() - JA.keys()
    assert not missing
    for english, japanese in JA.items():
        assert sorted(placeholder.findall(english)) == sorted(placeholder.findall(japanese)), (
            english
        )
