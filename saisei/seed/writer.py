"""Write a batch's rows with one precompiled INSERT per model, as ``bulk_create`` would have.

``bulk_create`` compiles its SQL and prepares every value through the field again for each chunk
(SQLite allows 999 parameters a statement, so a chunk is a dozen rows): that was half of a
seed's time. Here each model's statement is built once from its ``_meta``, primary keys are
reserved up front (so children can point at parents written earlier in the batch, as
``bulk_create`` arranges), values of plain types go to the driver as they are and the others
through the field's own ``get_db_prep_save``, and all rows go in one ``executemany``. The stored
values are the ones ``bulk_create`` stored (scripts/seed_fingerprint.py compares them).

Only for the seed: no signals, no row history, no validation (like ``bulk_create``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models import signals
from django.db.models.base import ModelState
from django.utils import timezone

_PLAIN: dict[str, type] = {
    "CharField": str,
    "TextField": str,
    "BooleanField": bool,
    "FloatField": float,
    "IntegerField": int,
    "BigIntegerField": int,
    "SmallIntegerField": int,
    "PositiveIntegerField": int,
    "PositiveSmallIntegerField": int,
    "PositiveBigIntegerField": int,
    "AutoField": int,
    "BigAutoField": int,
}


def _converter(field: models.Field[Any, Any], now: Any, db: Any) -> Callable[[Any], Any]:
    """How one field's Python value becomes the value the driver binds (``db``: the connection
    itself, not Django's per-thread proxy, whose every attribute is a lookup)."""
    typed = field.target_field if field.is_relation else field  # type: ignore[attr-defined]
    plain = _PLAIN.get(typed.get_internal_type())
    prep = field.get_db_prep_save

    def convert(value: Any) -> Any:
        if value is None:
            return None
        if (
            plain is not None and type(value) is plain
        ):  # exact: enums and bools go through the field
            return value
        return prep(value, db)

    if getattr(field, "auto_now", False):
        stamp = prep(now, db)
        return lambda _value: stamp
    if db.vendor == "sqlite" and field.get_internal_type() == "DateTimeField":
        # What DatabaseOperations.adapt_datetimefield_value does, without its checks per value.
        tz = db.timezone

        def sqlite_datetime(value: Any) -> Any:
            if value is None or not isinstance(value, dt.datetime) or value.tzinfo is None:
                return convert(value)
            return str(value.astimezone(tz).replace(tzinfo=None))

        return sqlite_datetime
    return convert


class Table:
    """One model's INSERT statement and how to turn an instance or a dict into its row."""

    def __init__(self, model: type[models.Model], now: Any) -> None:
        meta = model._meta
        if meta.parents or meta.pk is None or meta.pk.attname != "id":
            raise ValueError(f"{meta.label}: only models with their own integer id are supported")
        self.model = model
        self.table = meta.db_table
        self.fields = list(meta.concrete_fields)
        db = connections[DEFAULT_DB_ALIAS]
        self.converters = [_converter(f, now, db) for f in self.fields]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(str(f.column)) for f in self.fields)
        marks = ", ".join(["%s"] * len(self.fields))
        table = quote(self.table)
        self.sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - model names
        self.copy_sql = f"COPY {table} ({columns}) FROM STDIN"
        # Foreign keys whose object may be cached unsaved at build time: (index, field).
        self.relations = [(n, f) for n, f in enumerate(self.fields) if f.is_relation]

    def row_of(self, obj: models.Model) -> list[Any]:
        values = obj.__dict__
        row = [values[f.attname] for f in self.fields]
        for n, f in self.relations:
            if row[n] is None and f.is_cached(obj):  # type: ignore[attr-defined]
                related = f.get_cached_value(obj)  # type: ignore[attr-defined]
                if related is not None:
                    if related.pk is None:
                        raise ValueError(f"{self.model.__name__}.{f.name}: parent not written yet")
                    row[n] = related.pk
                    values[f.attname] = related.pk
        return [c(v) for c, v in zip(self.converters, row, strict=True)]

    def row_from(self, values: dict[str, Any]) -> list[Any]:
        return [c(values.get(f.attname)) for c, f in zip(self.converters, self.fields, strict=True)]

    def insert(self, rows: list[list[Any]]) -> None:
        if not rows:
            return
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                # COPY: one stream of rows, formatted by psycopg's C code, no statement per row.
                with cur.cursor.copy(self.copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cur.executemany(self.sql, rows)


class Maker:
    """Builds an unsaved instance as ``Model(**kwargs)`` does, for the seed's keyword arguments.

    A quarter of a seed's time went to ``Model.__init__`` (its signals and descriptors per
    field). Here each field's value is stored directly: given (a related object is cached and
    its key copied, as the descriptor does), or the field's default. Models with ``pre_init`` or
    ``post_init`` receivers are built the ordinary way.
    """

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.plain = signals.pre_init.has_listeners(model) or signals.post_init.has_listeners(model)

    def __call__(self, kwargs: dict[str, Any]) -> Any:
        if self.plain:
            return self.model(**kwargs)
        obj = self.model.__new__(self.model)
        obj._state = ModelState()
        values = obj.__dict__
        used = 0
        for f in self.fields:
            if f.name in kwargs:
                used += 1
                value = kwargs[f.name]
                if f.is_relation and value is not None:
                    f.set_cached_value(obj, value)  # type: ignore[attr-defined]
                    value = getattr(value, f.target_field.attname)  # type: ignore[attr-defined]
                values[f.attname] = value
            elif f.attname in kwargs:
                used += 1
                values[f.attname] = kwargs[f.attname]
            else:
                values[f.attname] = f.get_default()
        if used != len(kwargs):
            names = {f.name for f in self.fields} | {f.attname for f in self.fields}
            raise TypeError(f"{self.model.__name__}: unexpected {sorted(set(kwargs) - names)}")
        return obj


def reserve_ids(table: str, count: int) -> list[int]:
    """``count`` new primary keys of ``table``, in the order the database would have given them.

    Call inside the transaction that inserts them: SQLite's writer holds the database from the
    transaction's start (IMMEDIATE), and PostgreSQL hands each number from its sequence once.
    """
    if count == 0:
        return []
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [connection.ops.quote_name(table), count],
            )
            return [r[0] for r in cur.fetchall()]
        if connection.vendor != "sqlite":
            raise NotImplementedError(connection.vendor)
        quote = connection.ops.quote_name
        cur.execute(f"SELECT MAX(id) FROM {quote(table)}")  # noqa: S608 - a model's table
        top = cur.fetchone()[0] or 0
        # AUTOINCREMENT never reuses a number, even of a row that is gone.
        cur.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        found = cur.fetchone()
        first = max(top, found[0] if found else 0) + 1
        return list(range(first, first + count))


def write_objects(order: Iterable[type[models.Model]], rows: dict[Any, list[Any]]) -> int:
    """Insert the unsaved instances of each model in ``order`` (parents first); returns the count."""
    now = timezone.now()
    n = 0
    for model in order:
        objs = rows.get(model, [])
        if not objs:
            continue
        table = Table(model, now)
        for obj, pk in zip(objs, reserve_ids(table.table, len(objs)), strict=True):
            obj.pk = pk
        table.insert([table.row_of(obj) for obj in objs])
        for obj in objs:
            obj._state.adding = False
            obj._state.db = connection.alias
        n += len(objs)
    return n
