"""Health endpoints for load balancers and orchestrators.

``/health`` answers while the process can serve requests (liveness; it touches no database).
``/health/ready`` answers 200 only when the database is reachable and every migration is
applied (readiness), and 503 otherwise. Both are JSON, need no login and are never cached.

They are answered by the first middleware, before the host check, the HTTPS redirect and the
session, so a probe on the bare address over plain HTTP gets an answer instead of a 400 or 301.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse

LIVE = "/health"
READY = "/health/ready"
_LIVE_PATHS = (LIVE, LIVE + "/", "/healthz")
_READY_PATHS = (READY, READY + "/")

# Applied migrations do not come undone while a process runs, so once every migration has been
# found applied, later probes only check that the database answers.
_migrated = False


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return False
    return True


def _migrations_ok() -> bool:
    global _migrated  # noqa: PLW0603 - a per-process memo of a fact that only becomes true
    if _migrated:
        return True
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError:
        return False
    _migrated = not pending
    return _migrated


def ready_checks() -> dict[str, bool]:
    database = _database_ok()
    return {"database": database, "migrations": database and _migrations_ok()}


def _answer(status: int, body: dict[str, object]) -> HttpResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


class HealthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        if request.path in _LIVE_PATHS:
            return _answer(200, {"status": "ok"})
        if request.path in _READY_PATHS:
            checks = ready_checks()
            ok = all(checks.values())
            return _answer(
                200 if ok else 503, {"status": "ok" if ok else "unavailable", "checks": checks}
            )
        return self.get_response(request)
