"""iCalendar (RFC 5545) export of an itinerary, so a family can load every trip and visit into a calendar.

Written by hand to keep the output exact: CRLF line ends (RFC 5545 §3.1), lines folded at 75
octets without splitting a UTF-8 character, escaped TEXT values (§3.3.11), all-day events as
DATE values with an exclusive DTEND (§3.6.1), and a UID per visit that stays the same across
re-plans so calendar apps update events instead of duplicating them (§3.8.4.7).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

from django.utils import translation
from django.utils.translation import gettext

from .itinerary import KIND_LABELS, Itinerary, Visit

CRLF = "\r\n"
MAX_OCTETS = 75


def escape_text(value: str) -> str:
    """Escape a TEXT value: backslash, semicolon, comma and line breaks (RFC 5545 §3.3.11)."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold_line(line: str) -> str:
    """Fold one content line into chunks of at most 75 octets, never inside a UTF-8 character."""
    out: list[str] = []
    current = ""
    size = 0
    limit = MAX_OCTETS
    for ch in line:
        width = len(ch.encode("utf-8"))
        if size + width > limit:
            out.append(current)
            current, size = "", 0
            limit = MAX_OCTETS - 1  # continuation lines start with one space
        current += ch
        size += width
    out.append(current)
    return (CRLF + " ").join(out)


def unfold(text: str) -> list[str]:
    """Undo folding (a CRLF followed by one space or tab) and split into content lines."""
    text = text.replace(CRLF + " ", "").replace(CRLF + "\t", "")
    return [line for line in text.split(CRLF) if line]


def _date(value: dt.date) -> str:
    return value.strftime("%Y%m%d")


def _stamp(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("DTSTAMP needs a timezone-aware datetime")
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _event(
    *,
    uid: str,
    stamp: str,
    start: dt.date,
    end_inclusive: dt.date,
    summary: str,
    description: str,
    sequence: int,
) -> list[str]:
    return [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{stamp}",
        f"DTSTART;VALUE=DATE:{_date(start)}",
        f"DTEND;VALUE=DATE:{_date(end_inclusive + dt.timedelta(days=1))}",
        f"SEQUENCE:{sequence}",
        f"SUMMARY:{escape_text(summary)}",
        f"DESCRIPTION:{escape_text(description)}",
        "TRANSP:TRANSPARENT",
        "END:VEVENT",
    ]


def _visit_summary(visit: Visit, total_infusions: int) -> str:
    if visit.kind == "infusion":
        return gettext("Infusion %(n)s of %(total)s") % {
            "n": visit.sequence,
            "total": total_infusions,
        }
    return gettext(KIND_LABELS[visit.kind].msgid)


def itinerary_to_ics(
    itinerary: Itinerary,
    *,
    patient_label: str,
    language: str,
    uid_seed: str | None = None,
    uid_domain: str = "saisei.invalid",
    dtstamp: dt.datetime | None = None,
    sequence: int = 0,
) -> str:
    """Render the itinerary as an iCalendar file in the family's language.

    Pass the treatment course's external id as `uid_seed` so a re-planned itinerary keeps its
    UIDs, and raise `sequence` with each re-plan so calendar apps take the newer version.
    """
    seed = uid_seed or hashlib.sha256(patient_label.encode("utf-8")).hexdigest()[:16]
    stamp = _stamp(dtstamp or dt.datetime.now(dt.UTC))
    total = max((v.sequence for v in itinerary.all_visits if v.kind == "infusion"), default=0)
    lines: list[str] = []
    with translation.override(language):
        calname = gettext("Treatment itinerary for %(patient)s") % {"patient": patient_label}
        lines += [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Saisei//Patient journey itinerary//EN",
            "CALSCALE:GREGORIAN",
            "METHOD:PUBLISH",
            f"X-WR-CALNAME:{escape_text(calname)}",
        ]
        for n, trip in enumerate(itinerary.trips, start=1):
            summary = gettext("Trip %(n)s in Japan: %(patient)s") % {
                "n": n,
                "patient": patient_label,
            }
            description = gettext("Arrive %(arrive)s, leave %(depart)s (%(nights)s nights).") % {
                "arrive": trip.arrive.isoformat(),
                "depart": trip.depart.isoformat(),
                "nights": trip.nights,
            }
            lines += _event(
                uid=f"{seed}-trip-{n}@{uid_domain}",
                stamp=stamp,
                start=trip.arrive,
                end_inclusive=trip.depart,
                summary=summary,
                description=description,
                sequence=sequence,
            )
            for visit in trip.visits:
                lines += _event(
                    uid=f"{seed}-{visit.kind}-{visit.sequence}@{uid_domain}",
                    stamp=stamp,
                    start=visit.date,
                    end_inclusive=visit.date,
                    summary=f"{_visit_summary(visit, total)}: {patient_label}",
                    description="\n".join(_notes_for(itinerary, visit.date)),
                    sequence=sequence,
                )
        lines.append("END:VCALENDAR")
    return "".join(fold_line(line) + CRLF for line in lines)


def _notes_for(itinerary: Itinerary, day: dt.date) -> Iterable[str]:
    return [m.render() for m in itinerary.explanations if m.date == day]
