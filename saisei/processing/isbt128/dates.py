"""Dates in ISBT 128 structures: `cyyjjj` (DS004, 006, 008) and `cyyjjjhhmm` (DS005, 007, 009).

`c` is a century digit, `yy` the year in it and `jjj` the day of the year; with time, `hhmm` is the
labelling facility's local 24-hour clock time. For expiry, cellular therapy uses DS005 (date and time);
when only a date is meant, the time is 23:59 (ST-001 §2.4.5).
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_lazy as _

from .config import DEFAULT_CONFIG, Isbt128Config
from .decoded import Decoded
from .errors import INVALID_DATE, INVALID_TIME, OUT_OF_RANGE, Isbt128Error, Issue, issue
from .fields import DIGITS, FieldRule, check_fields

SOURCE = "ISBT 128 ST-001 §2.4.4-§2.4.9 (Data Structures 004-009)"
END_OF_DAY = dt.time(23, 59)  # ST-001 §2.4.5: the time to use when none is given

DATE_RULES: tuple[FieldRule, ...] = (FieldRule(_("date"), 0, 6, frozenset(DIGITS), SOURCE),)
TIME_RULES: tuple[FieldRule, ...] = (FieldRule(_("time"), 6, 4, frozenset(DIGITS), SOURCE),)


def _date_fields(content: str, day: dt.date | None) -> dict[str, Any]:
    return {
        "century": content[0:1],
        "year": content[1:3],
        "day_of_year": content[3:6],
        "date": day.isoformat() if day else None,
    }


def _to_date(
    content: str, *, offset: int, config: Isbt128Config
) -> tuple[dt.date | None, list[Issue]]:
    issues = check_fields(content[:6], DATE_RULES, offset=offset)
    if issues:
        return None, issues
    year = config.century_base + int(content[0]) * 100 + int(content[1:3])
    day_of_year = int(content[3:6])
    days_in_year = 366 if calendar.isleap(year) else 365
    if not 1 <= day_of_year <= days_in_year:
        return None, [issue(INVALID_DATE, day=content[3:6], year=year)]
    return dt.date(year, 1, 1) + dt.timedelta(days=day_of_year - 1), []


def decode_date(content: str, *, offset: int, config: Isbt128Config) -> Decoded:
    """Read a 6-character `cyyjjj` date (e.g. DS004 expiry date, DS006 collection date)."""
    day, issues = _to_date(content, offset=offset, config=config)
    return Decoded(value=day, fields=_date_fields(content, day), issues=issues)


def decode_datetime(content: str, *, offset: int, config: Isbt128Config) -> Decoded:
    """Read `cyyjjjhhmm` as an aware datetime in the site's zone, and report it in UTC too.

    FACT-JACIE and ISBT 128 want UTC beside local time on products that cross time zones.
    """
    day, issues = _to_date(content, offset=offset, config=config)
    fields = _date_fields(content, day)
    fields.update(time=None, timezone=config.timezone, local=None, utc=None)
    time_issues = check_fields(content, TIME_RULES, offset=offset)
    issues += time_issues
    clock = None
    if not time_issues:
        hh, mm = int(content[6:8]), int(content[8:10])
        if hh > 23 or mm > 59:
            issues.append(issue(INVALID_TIME, time=f"{content[6:8]}:{content[8:10]}"))
        else:
            clock = dt.time(hh, mm)
            fields["time"] = clock.strftime("%H:%M")
    value = None
    if day is not None and clock is not None:
        value = dt.datetime.combine(day, clock, tzinfo=ZoneInfo(config.timezone))
        fields.update(local=value.isoformat(), utc=value.astimezone(dt.UTC).isoformat())
    return Decoded(value=value, fields=fields, issues=issues)


def encode_date(*, day: dt.date, config: Isbt128Config | None = None) -> str:
    """`cyyjjj` for a calendar date."""
    config = config or DEFAULT_CONFIG
    offset_years = day.year - config.century_base
    if not 0 <= offset_years <= 999:
        raise Isbt128Error(
            [
                issue(
                    OUT_OF_RANGE,
                    field=_("year"),
                    minimum=config.century_base,
                    maximum=config.century_base + 999,
                )
            ]
        )
    return f"{offset_years:03d}{day.timetuple().tm_yday:03d}"


def encode_datetime(*, moment: dt.datetime, config: Isbt128Config | None = None) -> str:
    """`cyyjjjhhmm` for an aware datetime, written in the site's local time (seconds dropped)."""
    config = config or DEFAULT_CONFIG
    if moment.tzinfo is None:
        raise ValueError("ISBT 128 date-times need a timezone-aware datetime")
    local = moment.astimezone(ZoneInfo(config.timezone))
    return encode_date(day=local.date(), config=config) + local.strftime("%H%M")


def expiration_barcode_data(
    *, expires: dt.datetime | dt.date, config: Isbt128Config | None = None
) -> str:
    """DS005 bar-code data (`&>cyyjjjhhmm`); a bare date expires at 23:59 local time."""
    config = config or DEFAULT_CONFIG
    if not isinstance(expires, dt.datetime):
        expires = dt.datetime.combine(expires, END_OF_DAY, tzinfo=ZoneInfo(config.timezone))
    return "&>" + encode_datetime(moment=expires, config=config)


def expiry_text(*, expires: dt.datetime, config: Isbt128Config | None = None) -> dict[str, str]:
    """Eye-readable expiry: ISO date, 24-hour time with zone abbreviation, and UTC beneath."""
    config = config or DEFAULT_CONFIG
    local = expires.astimezone(ZoneInfo(config.timezone))
    utc = expires.astimezone(dt.UTC)
    return {
        "local": f"{local:%Y-%m-%d %H:%M} {local.tzname()}",
        "utc": f"({utc:%Y-%m-%d %H:%M} UTC)",
    }
