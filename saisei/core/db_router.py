"""An optional read replica for reports and exports (docs/operations.md, "Scale-out").

With ``DATABASE_REPLICA_URL`` set, settings add a ``replica`` database alias. Code that reads a
large amount for a report or an export wraps those reads in ``replica_reads()``; the router
sends them to the replica. Everything else, every write, and any read inside a transaction on
the primary (which must see its own writes) stays on ``default``. Without a replica configured
the context changes nothing.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connections

REPLICA = "replica"

_replica_reads: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "saisei_replica_reads", default=False
)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads() -> Iterator[None]:
    """Reads inside go to the read replica when one is configured (reports, exports)."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


class ReplicaRouter:
    """Reads of reports and exports to the replica; everything else to the primary."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        if not _replica_reads.get() or not replica_configured():
            return None
        if connections["default"].in_atomic_block:
            return None  # a transaction on the primary reads its own writes there
        return REPLICA

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return "default"

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # The replica is a copy of the primary: objects read from either relate freely.
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        # The replica follows the primary by replication; migrations run on the primary only.
        return db != REPLICA
