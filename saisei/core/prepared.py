"""Queries compiled once per database and run again with new values (hot paths, decision 0036).

Django compiles a queryset into SQL each time it is evaluated; on the compliance gate's path
(an API call that reads a dozen small facts) that compilation costs several times what the
database does. A ``Prepared`` query is an ordinary ``values_list`` queryset, written by a
builder from named parameters, so its filters are the ORM's own (the same voided-row and scope
filters as everywhere else). The first run on a database builds it with marker values, compiles
it, and remembers which SQL parameters the markers became; later runs put the new values, made
ready for the database exactly as a lookup would (``Field.get_db_prep_value``), in those places,
and convert the rows with the same converters the ORM would apply.

Limits, checked when the query is first compiled: each parameter must reach the SQL as a
parameter (a value the ORM folds into the SQL text, ``None`` or a list, cannot be prepared), and
the queryset must be a ``values_list``. Results are tested equal to the ORM's on both databases.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import (
    CharField,
    DateField,
    DateTimeField,
    Field,
    IntegerField,
    Model,
    QuerySet,
    UUIDField,
)
from django.db.models.query import FlatValuesListIterable, ValuesListIterable

_FIELDS: dict[type, Field] = {
    int: IntegerField(),
    str: CharField(),
    dt.date: DateField(),
    dt.datetime: DateTimeField(),
    uuid.UUID: UUIDField(),
}


def _marker(kind: type, index: int) -> Any:
    """A value of ``kind`` no real row or request uses, distinct per parameter."""
    if kind is int:
        # Within every integer column's range (the ORM drops a lookup outside it), and above
        # any id a table here reaches.
        return 2_146_000_000 + index
    if kind is str:
        return f"\x1fprepared-marker-{index}\x1f"
    if kind is dt.datetime:
        return dt.datetime(1001, 1, 1 + index, 3, 7, 11, tzinfo=dt.UTC)
    if kind is dt.date:
        return dt.date(1001, 2, 1 + index)
    if kind is uuid.UUID:
        return uuid.UUID(int=0x5A15E1_0000_0000 + index)
    raise ImproperlyConfigured(
        f"Prepared queries take int, str, date, datetime or UUID, not {kind}"
    )


def _ready(kind: type, value: Any, connection: Any) -> Any:
    """``value`` as the database receives it, checked against the declared type."""
    if value is None or isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f"expected {kind.__name__}, got {value!r}")
    if kind is dt.date and isinstance(value, dt.datetime):
        raise TypeError(f"expected a date, got the date and time {value!r}")
    return _FIELDS[kind].get_db_prep_value(value, connection, prepared=False)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    # per SQL parameter: the name it takes its value from and whether made ready, or None
    slots: tuple[tuple[str, bool] | None, ...]
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...]
    flat: bool


def _converted(row: Any, compiled: _Compiled, connection: Any) -> tuple[Any, ...]:
    """The row with the ORM's converters applied (e.g. SQLite's text dates become dates)."""
    if not compiled.converters:
        return tuple(row)
    values = list(row)
    for pos, convs, expression in compiled.converters:
        for converter in convs:
            values[pos] = converter(values[pos], expression, connection)
    return tuple(values)


class Prepared:
    """A ``values_list`` queryset compiled once per database, run with new values.

    ``Prepared(lambda plan_id: Model.objects.filter(plan_id=plan_id).values_list("a"),
    plan_id=int).rows(plan_id=3)`` answers what the queryset with ``plan_id=3`` would.
    """

    def __init__(self, build: Callable[..., QuerySet], **types: type) -> None:
        unknown = {name: kind for name, kind in types.items() if kind not in _FIELDS}
        if unknown:
            raise ImproperlyConfigured(
                f"Prepared queries take int, str, date, datetime or UUID parameters, not {unknown}"
            )
        self._build = build
        self._types = types
        self._compiled: dict[tuple[str, str], _Compiled] = {}

    def _compile(self, using: str) -> _Compiled:
        connection = connections[using]
        markers = {name: _marker(kind, i) for i, (name, kind) in enumerate(self._types.items())}
        queryset = self._build(**markers)
        if queryset._iterable_class not in (ValuesListIterable, FlatValuesListIterable):
            raise ImproperlyConfigured("A prepared query must be a values_list queryset.")
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        slots = tuple(self._slot(p, markers, connection) for p in params)
        missing = set(self._types) - {slot[0] for slot in slots if slot is not None}
        if missing:
            raise ImproperlyConfigured(
                f"Parameters {sorted(missing)} do not reach the SQL as parameters."
            )
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        converters = tuple(
            (pos, tuple(convs), expression)
            for pos, (convs, expression) in compiler.get_converters(fields).items()
        )
        flat = queryset._iterable_class is FlatValuesListIterable
        return _Compiled(sql, tuple(params), slots, converters, flat)

    def _slot(
        self, param: Any, markers: dict[str, Any], connection: Any
    ) -> tuple[str, bool] | None:
        """Which parameter ``param`` came from, and whether it was made ready for the database
        (a date as text on SQLite) or passed as it was (a foreign key's integer); else None."""
        for name, marker in markers.items():
            ready = _ready(self._types[name], marker, connection)
            if type(param) is type(ready) and param == ready:
                return name, True
            if type(param) is type(marker) and param == marker:
                return name, False
        return None

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[Any]:
        """The rows (tuples, or values for a flat list) the queryset gives with ``values``."""
        if set(values) != set(self._types):
            raise TypeError(f"expected the parameters {sorted(self._types)}")
        connection = connections[using]
        key = (using, connection.vendor)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._compile(using)
        params = [
            p if slot is None else self._value(slot, values, connection)
            for p, slot in zip(compiled.params, compiled.slots, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            fetched = cursor.fetchall()
        rows = [_converted(row, compiled, connection) for row in fetched]
        return [row[0] for row in rows] if compiled.flat else rows

    def _value(self, slot: tuple[str, bool], values: dict[str, Any], connection: Any) -> Any:
        name, made_ready = slot
        ready = _ready(self._types[name], values[name], connection)  # checks the type too
        return ready if made_ready else values[name]

    def first(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> Any:
        """The first row, or None."""
        found = self.rows(using=using, **values)
        return found[0] if found else None


def _attnames(model: type[Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def _related_model(model: type[Model], path: str) -> type[Model]:
    for part in path.split("__"):
        related = model._meta.get_field(part).related_model
        if not isinstance(related, type):
            raise ImproperlyConfigured(f"{path} is not a forward relation of {model.__name__}")
        model = related
    return model


class PreparedObjects:
    """Model instances from one prepared query, with forward relations joined in the same row.

    ``PreparedObjects(Dose, lambda pk: Dose.objects.filter(pk=pk), related=("lot",), pk=int)``
    gives ``Dose`` instances whose ``lot`` is already loaded, as ``select_related("lot")`` would;
    a relation whose row is missing (a nullable foreign key) is left unset.
    """

    def __init__(
        self,
        model: type[Model],
        build: Callable[..., QuerySet],
        *,
        related: tuple[str, ...] = (),
        **types: type,
    ) -> None:
        self._parts = [("", model)] + [(path, _related_model(model, path)) for path in related]
        columns = [
            f"{path}__{name}" if path else name
            for path, part_model in self._parts
            for name in _attnames(part_model)
        ]
        self._query = Prepared(lambda **kw: build(**kw).values_list(*columns), **types)

    def first(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> Any:
        """The first instance the query finds, or None."""
        row = self._query.first(using=using, **values)
        if row is None:
            return None
        built: dict[str, Model] = {}
        start = 0
        for path, part_model in self._parts:
            names = _attnames(part_model)
            chunk = row[start : start + len(names)]
            start += len(names)
            if chunk[names.index(part_model._meta.pk.attname)] is None:
                continue  # a null relation: nothing to attach
            obj = part_model.from_db(using, names, chunk)
            built[path] = obj
            if path:
                parent, _sep, name = path.rpartition("__")
                if parent in built:
                    setattr(built[parent], name, obj)
        return built[""]
