"""Keyset pages: the rows after a given row in a list's own order, found on the list's index.

An OFFSET page makes the database walk every row it skips (750,000 assessment keys for the last
page at national size); a keyset page starts where the previous page ended. A list's order is
made total by adding the primary key after its own fields; a cursor holds the last row's values
of those fields. The comparison is spelled out field by field (a row-value comparison cannot mix
ascending and descending fields), with the first field's bound repeated on its own so that the
database can start its index scan there. A field that may be NULL is ordered with its NULLs
last when ascending and first when descending (PostgreSQL's own default) on every database, so
that the comparison knows where they are.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import F, Model, OrderBy, Q, QuerySet


class CursorError(ValueError):
    """The cursor was not made by this list (garbled, edited, or from another list)."""


@dataclass(frozen=True)
class Key:
    """One field of a list's order."""

    path: str
    descending: bool
    nullable: bool

    def order(self) -> OrderBy:
        if not self.nullable:
            return OrderBy(F(self.path), descending=self.descending)
        return OrderBy(
            F(self.path),
            descending=self.descending,
            nulls_first=self.descending or None,
            nulls_last=(not self.descending) or None,
        )

    def after(self, value: Any) -> Q | None:
        """Rows strictly after `value` on this field; None when no row can be."""
        if value is None:  # NULLs come last ascending, first descending
            return Q(**{f"{self.path}__isnull": False}) if self.descending else None
        beyond = Q(**{f"{self.path}__{'lt' if self.descending else 'gt'}": value})
        if self.nullable and not self.descending:
            beyond |= Q(**{f"{self.path}__isnull": True})
        return beyond

    def same(self, value: Any) -> Q:
        if value is None:
            return Q(**{f"{self.path}__isnull": True})
        return Q(**{self.path: value})

    def from_here(self, value: Any) -> Q | None:
        """This row's value or beyond: the bound an index scan can start from."""
        if value is None:
            return None if self.descending else Q(**{f"{self.path}__isnull": True})
        bound = Q(**{f"{self.path}__{'lte' if self.descending else 'gte'}": value})
        if self.nullable and not self.descending:
            bound |= Q(**{f"{self.path}__isnull": True})
        return bound


def keys_of(qs: QuerySet) -> list[Key]:
    """The list's order as keys, ending with the primary key so that the order is total."""
    if qs.query.order_by:
        ordering: Any = qs.query.order_by
    elif qs.query.default_ordering:
        ordering = qs.model._meta.ordering
    else:
        ordering = ()
    keys: list[Key] = []
    for item in ordering:
        path, descending = _path_of(item)
        if path in ("pk", qs.model._meta.pk.name):
            keys.append(Key("pk", descending, nullable=False))
            return keys
        keys.append(Key(path, descending, _nullable(qs, path)))
    keys.append(Key("pk", False, nullable=False))
    return keys


def _path_of(item: Any) -> tuple[str, bool]:
    if isinstance(item, str) and item and item != "?":
        return item.lstrip("-"), item.startswith("-")
    if isinstance(item, OrderBy) and isinstance(item.expression, F):
        return str(item.expression.name), item.descending  # type: ignore[attr-defined]
    if isinstance(item, F):
        return str(item.name), False  # type: ignore[attr-defined]
    raise TypeError(f"a keyset page needs a list ordered by fields, not {item!r}")


def _nullable(qs: QuerySet, path: str) -> bool:
    """Whether the path can be NULL: a nullable field, or any nullable link on the way to it.
    An annotation may always be NULL."""
    if path in qs.query.annotations:
        return True
    model: type[Model] = qs.model
    parts = path.split("__")
    for i, part in enumerate(parts):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return True
        if getattr(field, "null", False):
            return True
        if i < len(parts) - 1:
            if not field.is_relation or field.related_model is None:
                return True
            model = field.related_model
    return False


def ordered(qs: QuerySet, keys: list[Key]) -> QuerySet:
    return qs.order_by(*(key.order() for key in keys))


def after(qs: QuerySet, keys: list[Key], values: list[Any]) -> QuerySet:
    """The rows of `qs` that come after a row with these values, in the keys' order."""
    if len(values) != len(keys):
        raise CursorError("the cursor does not fit this list")
    condition = Q(pk__in=[])  # no row, when the cursor's row was the last possible
    same = Q()
    for key, value in zip(keys, values, strict=True):
        beyond = key.after(value)
        if beyond is not None:
            condition |= same & beyond
        same &= key.same(value)
    start = keys[0].from_here(values[0])
    try:  # the fields check each value's type here, before any query runs
        return (qs.filter(start) if start is not None else qs).filter(condition)
    except (ValueError, TypeError, ValidationError) as exc:
        raise CursorError("the cursor's values do not fit this list") from exc


def values_of(qs: QuerySet, keys: list[Key], pk: Any) -> list[Any]:
    """The keys' values of one row of the list (one query)."""
    rows = list(qs.order_by().filter(pk=pk).values_list(*(key.path for key in keys))[:1])
    if not rows:
        raise CursorError("the row is no longer in the list")
    return list(rows[0])


def encode(values: list[Any]) -> str:
    payload = json.dumps([_plain(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode(cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise CursorError("the cursor is not one this service made") from exc
    if not isinstance(values, list) or not all(_is_scalar(v) for v in values):
        raise CursorError("the cursor is not one this service made")
    return values


def _plain(value: Any) -> Any:
    """A JSON scalar that the field turns back into the same value (full microseconds kept)."""
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))
