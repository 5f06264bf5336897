"""The iCalendar export: files that calendar apps accept and update rather than duplicate."""

from __future__ import annotations

import datetime as dt
import gettext as pygettext
import re

import pytest
from django.utils.translation import trans_real
from hypothesis import given, settings
from hypothesis import strategies as st

from saisei.core.catalogues import translations
from saisei.journey.ical import escape_text, fold_line, itinerary_to_ics, unfold
from saisei.journey.itinerary import (
    ClinicCalendar,
    ItineraryRequest,
    fix_visits_through,
    plan_itinerary,
    standard_closures,
)

JA = translations("journey", "ja")


D = dt.date
STAMP = dt.datetime(2026, 11, 28, 4, 30, tzinfo=dt.UTC)
CLINIC = ClinicCalendar(closures=standard_closures(years=range(2026, 2029)))
REQUEST = ItineraryRequest(
    earliest_arrival=D(2027, 3, 1),
    latest_return=D(2027, 12, 20),
    infusions=3,
    interval_days=14,
    culture_days=28,
)


@pytest.fixture
def itinerary():
    return plan_itinerary(request=REQUEST, calendar=CLINIC)


@pytest.fixture
def japanese_catalogue():
    """Stand in for the merged .po catalogue so Japanese output can be checked before the merge."""

    class Catalogue(pygettext.NullTranslations):
        def gettext(self, message):
            return JA.get(message, message)

        def to_language(self):
            return "ja"

    saved = trans_real._translations.get("ja")
    trans_real._translations["ja"] = Catalogue()
    yield
    if saved is None:
        trans_real._translations.pop("ja", None)
    else:
        trans_real._translations["ja"] = saved


def _events(ics):
    lines = unfold(ics)
    events, current = [], None
    for line in lines:
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            events.append(current)
            current = None
        elif current is not None:
            name, _, value = line.partition(":")
            current[name] = value
    return events


def test_every_line_ends_in_crlf_and_fits_75_octets(itinerary):
    ics = itinerary_to_ics(itinerary, patient_label="Tanaka family", language="en", dtstamp=STAMP)
    assert ics.endswith("\r\n")
    assert "\n" not in ics.replace("\r\n", "")
    for line in ics.split("\r\n")[:-1]:
        assert len(line.encode("utf-8")) <= 75


def test_calendar_has_required_properties_and_balanced_components(itinerary):
    lines = unfold(itinerary_to_ics(itinerary, patient_label="P", language="en", dtstamp=STAMP))
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert "VERSION:2.0" in lines
    assert any(line.startswith("PRODID:") for line in lines)
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT")


def test_one_all_day_event_per_visit_and_per_trip(itinerary):
    events = _events(itinerary_to_ics(itinerary, patient_label="P", language="en", dtstamp=STAMP))
    assert len(events) == len(itinerary.visits) + len(itinerary.trips)
    for event in events:
        assert {"UID", "DTSTAMP", "DTSTART;VALUE=DATE", "DTEND;VALUE=DATE", "SUMMARY"} <= set(event)
        assert event["DTSTAMP"] == "20261128T043000Z"
        start = dt.datetime.strptime(event["DTSTART;VALUE=DATE"], "%Y%m%d").date()
        end = dt.datetime.strptime(event["DTEND;VALUE=DATE"], "%Y%m%d").date()
        assert end > start  # DTEND is exclusive for all-day events
    visit_days = sorted(v.date.strftime("%Y%m%d") for v in itinerary.visits)
    visit_events = [e for e in events if "-trip-" not in e["UID"]]
    assert sorted(e["DTSTART;VALUE=DATE"] for e in visit_events) == visit_days
    trip = next(e for e in events if "-trip-1@" in e["UID"])
    assert trip["DTSTART;VALUE=DATE"] == itinerary.trips[0].arrive.strftime("%Y%m%d")
    last_day = itinerary.trips[0].depart + dt.timedelta(days=1)
    assert trip["DTEND;VALUE=DATE"] == last_day.strftime("%Y%m%d")


def test_uids_are_unique_and_stable_across_a_replan(itinerary):
    first = _events(
        itinerary_to_ics(itinerary, patient_label="P", language="en", uid_seed="course-42")
    )
    uids = [e["UID"] for e in first]
    assert len(set(uids)) == len(uids)
    assert all(re.fullmatch(r"[^@\s]+@[^@\s]+", u) for u in uids)
    harvest = next(v.date for v in itinerary.visits if v.kind == "harvest")
    req = fix_visits_through(
        request=REQUEST,
        itinerary=itinerary,
        through=harvest,
        culture_ready_by=itinerary.release_date + dt.timedelta(days=13),
    )
    replanned = plan_itinerary(request=req, calendar=CLINIC)
    second = _events(
        itinerary_to_ics(
            replanned, patient_label="P", language="en", uid_seed="course-42", sequence=1
        )
    )
    assert {e["UID"] for e in second} == set(uids)
    assert all(e["SEQUENCE"] == "1" for e in second)


def test_text_values_are_escaped(itinerary):
    ics = itinerary_to_ics(itinerary, patient_label="Smith; Jones, A\\B", language="en")
    summaries = [e["SUMMARY"] for e in _events(ics)]
    assert all("Smith\\; Jones\\, A\\\\B" in s for s in summaries)


def test_patient_label_is_not_leaked_into_uids(itinerary):
    ics = itinerary_to_ics(itinerary, patient_label="Hanako Yamada", language="en")
    assert all("Yamada" not in e["UID"] for e in _events(ics))


def test_japanese_calendar_folds_between_characters(itinerary, japanese_catalogue):
    ics = itinerary_to_ics(itinerary, patient_label="山田花子", language="ja", dtstamp=STAMP)
    raw = ics.encode("utf-8")
    for line in raw.split(b"\r\n")[:-1]:
        assert len(line) <= 75
        line.decode("utf-8")  # would raise if a fold split a character
    lines = unfold(ics)
    assert any("点滴投与（全3回中1回目）" in line for line in lines)
    assert any(line.startswith("DESCRIPTION:") and "出荷" in line for line in lines)


def test_naive_dtstamp_is_refused(itinerary):
    with pytest.raises(ValueError):
        itinerary_to_ics(
            itinerary, patient_label="P", language="en", dtstamp=dt.datetime(2026, 1, 1)
        )


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=400))
def test_folding_round_trips_any_text(text):
    value = "DESCRIPTION:" + escape_text(text)
    folded = fold_line(value)
    for physical in folded.split("\r\n"):
        assert len(physical.encode("utf-8")) <= 75
    for continuation in folded.split("\r\n")[1:]:
        assert continuation.startswith(" ")
    assert unfold(folded + "\r\n") == [value]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_escaped_text_has_no_raw_line_breaks_or_separators(text):
    escaped = escape_text(text)
    assert "\n" not in escaped and "\r" not in escaped
    assert not re.search(r"(?<!\\)(\\\\)*[;,]", escaped)
