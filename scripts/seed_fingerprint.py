"""Fingerprint what ``saisei seed`` wrote, so a change to the seed can prove it writes the same data.

Hashes every column of every table (ordered by primary key), per table and column, after making
the values that are random by design comparable: each UUID becomes the table and primary key of
the row whose ``external_id`` it is (also inside text and JSON), timestamps taken from the clock
(``updated_at``, a default ``created_at``: they carry microseconds, seeded times never do) become
``NOW``, and the columns that hold salted or keyed hashes (passwords, ledger hashes, which depend
on the UUIDs) are left out. Seed an empty database, run this, seed another empty database with
the changed code and the same ``--seed``/``--patients``/``--organisations`` on the same day, run
this again and compare the two outputs (``diff``). Usage, with the database configured as for
``saisei``:

    python scripts/seed_fingerprint.py > before.txt
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import sys
import uuid

SKIP_COLUMNS = {"password", "entry_hash", "prev_hash", "last_hash", "session_key"}
UUID_RE = re.compile(
    r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.IGNORECASE
)


def _uuid_names(tables: list[str], connection) -> dict[str, str]:  # type: ignore[no-untyped-def]
    names: dict[str, str] = {}
    with connection.cursor() as cur:
        for table in tables:
            columns = [c.name for c in connection.introspection.get_table_description(cur, table)]
            if "external_id" not in columns or "id" not in columns:
                continue
            cur.execute(f'SELECT id, external_id FROM "{table}"')  # noqa: S608 - table names
            for pk, ext in cur.fetchall():
                names[uuid.UUID(str(ext)).hex] = f"<{table}:{pk}>"
    return names


def _norm(value: object, names: dict[str, str]) -> str:
    if isinstance(value, dt.datetime) and value.microsecond:
        return "NOW"
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d[ T][\d:]+\.\d{6}.*", value):
        return "NOW"  # SQLite hands datetimes back as text
    text = str(value) if not isinstance(value, uuid.UUID) else value.hex
    return UUID_RE.sub(lambda m: names.get(m.group(0).replace("-", "").lower(), "<uuid>"), text)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saisei.settings")
    import django

    django.setup()
    from django.db import connection

    tables = sorted(connection.introspection.table_names())
    names = _uuid_names(tables, connection)
    with connection.cursor() as cur:
        for table in tables:
            if table.startswith(("django_", "auth_")) or table == "core_session":
                continue
            desc = connection.introspection.get_table_description(cur, table)
            columns = [c.name for c in desc if c.name not in SKIP_COLUMNS]
            order = "id" if any(c.name == "id" for c in desc) else columns[0]
            cols = ", ".join(f'"{c}"' for c in columns)
            query = f'SELECT {cols} FROM "{table}" ORDER BY "{order}"'  # noqa: S608 - table names
            cur.execute(query)
            digests = [hashlib.sha256() for _ in columns]
            count = 0
            for row in cur.fetchall():
                count += 1
                for d, value in zip(digests, row, strict=True):
                    d.update(_norm(value, names).encode() + b"\x00")
            for column, d in zip(columns, digests, strict=True):
                sys.stdout.write(f"{table}.{column} {count} {d.hexdigest()[:16]}\n")


if __name__ == "__main__":
    main()
