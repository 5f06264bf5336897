"""Parsing of the FHIR search parameters the API supports (R4 search.html).

Only ``_id``, ``patient``, ``_lastUpdated``, ``_count`` and our paging offset are understood.
Any other parameter is refused with 400 rather than ignored: a client that filtered on a
parameter we do not implement would otherwise receive, and trust, an unfiltered result.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

DEFAULT_COUNT = 50
MAX_COUNT = 200
RESULT_PARAMETERS = ("_count", "_offset")

# R4 search.html §3.1.1.4.1: the comparison prefixes for dates.
_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")
_DATE = re.compile(r"^(?P<prefix>[a-z]{2})?(?P<value>\d{4}-\d{2}-\d{2}(T.*)?)$")


class SearchError(ValueError):
    """A search the API cannot answer exactly; the message is shown to the client."""


@dataclass
class Search:
    ids: list[str] | None = None
    patient_id: uuid.UUID | None = None
    patient_invalid: bool = False
    # Provenance ``target``: (resource type, id), or invalid.
    target: tuple[str, uuid.UUID] | None = None
    target_invalid: bool = False
    last_updated: list[tuple[str, dt.datetime, dt.datetime]] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)
    count: int = DEFAULT_COUNT
    offset: int = 0

    def apply(self, qs: QuerySet, source: Any) -> QuerySet:
        if self.ids is not None:
            qs = qs.filter(source.id_filter(self.ids))
        if self.patient_invalid or self.target_invalid:
            return qs.none()
        if self.patient_id is not None and source.has_patient:
            qs = source.for_patients(qs, "external_id", self.patient_id)
        if self.target is not None:
            if source.target_type != self.target[0]:
                return qs.none()
            qs = qs.filter(subject_id=str(self.target[1]))
        for prefix, start, end in self.last_updated:
            qs = _date_filter(qs, source.updated_field, prefix, start, end)
        return qs


def _date_filter(
    qs: QuerySet, name: str, prefix: str, start: dt.datetime, end: dt.datetime
) -> QuerySet:
    """Compare the updated field with the range [start, end) a date of some precision covers."""
    gte, lt = {f"{name}__gte": start}, {f"{name}__lt": end}
    if prefix == "eq":
        return qs.filter(**gte, **lt)
    if prefix == "ne":
        return qs.exclude(**gte, **lt)
    if prefix in ("gt", "sa"):
        return qs.filter(**{f"{name}__gte": end})
    if prefix in ("lt", "eb"):
        return qs.filter(**{f"{name}__lt": start})
    if prefix == "ge":
        return qs.filter(**gte)
    return qs.filter(**lt)  # le


def _parse_range(text: str) -> tuple[dt.datetime, dt.datetime]:
    if "T" not in text:
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise SearchError(_("'%(value)s' is not a valid date.") % {"value": text}) from None
        start = dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())
        return start, start + dt.timedelta(days=1)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SearchError(_("'%(value)s' is not a valid date-time.") % {"value": text}) from None
    if moment.tzinfo is None:
        raise SearchError(
            _("The date-time '%(value)s' needs a time zone (FHIR requires one with a time).")
            % {"value": text}
        )
    precision = dt.timedelta(seconds=1) if moment.microsecond == 0 else dt.timedelta(microseconds=1)
    return moment, moment + precision


def _integer(name: str, raw: str, *, minimum: int, maximum: int | None = None) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SearchError(_("%(name)s must be a whole number.") % {"name": name}) from None
    if value < minimum or (maximum is not None and value > maximum):
        if maximum is None:
            message = _("%(name)s must be at least %(min)d.") % {"name": name, "min": minimum}
        else:
            message = _("%(name)s must be between %(min)d and %(max)d.") % {
                "name": name,
                "min": minimum,
                "max": maximum,
            }
        raise SearchError(message)
    return value


def _uuid_or_none(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def parse(
    params: Any,
    *,
    resource_type: str,
    has_patient: bool,
    includes: frozenset[str] = frozenset(),
) -> Search:
    """Read a QueryDict into a Search, or raise SearchError naming the offending parameter.

    ``includes`` are the ``_include`` values the type supports (``Type:param``); any other is
    refused, never ignored.
    """
    search = Search()
    for name in params:
        values = params.getlist(name)
        if name == "_id":
            search.ids = [part for value in values for part in value.split(",") if part]
        elif name == "target" and resource_type == "Provenance":
            kind, _sep, raw = values[-1].partition("/")
            key = _uuid_or_none(raw)
            search.target = (kind, key) if key is not None else None
            search.target_invalid = key is None
        elif name == "_include":
            for value in values:
                if value not in includes:
                    raise SearchError(
                        _("_include=%(value)s is not supported for %(type)s.")
                        % {"value": value, "type": resource_type}
                    )
                search.includes.append(value)
        elif name == "patient" and has_patient:
            raw = values[-1]
            raw = raw.removeprefix("Patient/")
            search.patient_id = _uuid_or_none(raw)
            search.patient_invalid = search.patient_id is None
        elif name == "_lastUpdated":
            for value in values:
                match = _DATE.match(value)
                if match is None or (match["prefix"] and match["prefix"] not in _PREFIXES):
                    raise SearchError(
                        _("'%(value)s' is not a valid _lastUpdated value.") % {"value": value}
                    )
                start, end = _parse_range(match["value"])
                search.last_updated.append((match["prefix"] or "eq", start, end))
        elif name == "_count":
            search.count = _integer("_count", values[-1], minimum=1, maximum=MAX_COUNT)
        elif name == "_offset":
            search.offset = _integer("_offset", values[-1], minimum=0)
        else:
            raise SearchError(
                _("The search parameter '%(name)s' is not supported for %(type)s.")
                % {"name": name, "type": resource_type}
            )
    return search
