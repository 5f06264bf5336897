"""Structured logs: one JSON object per line, carrying the request id of the request it is about.

Production writes JSON (``SAISEI_LOG_FORMAT=json``, the default there) so a log collector can
index it; development keeps plain lines. ``RequestLogMiddleware`` writes one ``saisei.request``
line per request with its method, path, status and duration; the request id comes from
``saisei.core.context`` (set by ``RequestIdMiddleware``), so every line logged while a request
is handled, by any module, carries the same id as its audit-ledger entries.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from saisei.core import context

# Fields a log call may add with ``extra=``; each appears in the JSON line when present.
REQUEST_FIELDS = ("request_id", "method", "path", "status", "duration_ms", "user_id")

request_logger = logging.getLogger("saisei.request")


class JsonFormatter(logging.Formatter):
    """time, level, logger, message, the request fields, and the exception if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # Lines logged while a request is handled carry its id, whichever module logs them.
        ctx = context.current_or_none()
        if ctx is not None:
            out["request_id"] = ctx.request_id
        for field in REQUEST_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                out[field] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        # default=str: a stray object in ``extra`` is written as text, never a lost line.
        return json.dumps(out, ensure_ascii=False, default=str)


class RequestLogMiddleware:
    """One log line per request; sits inside ``RequestIdMiddleware`` so the id is set."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        status = response.status_code
        user = getattr(request, "user", None)
        request_logger.log(
            logging.WARNING if status >= 500 else logging.INFO,
            "%s %s %s",
            request.method,
            request.path,
            status,
            extra={
                "request_id": getattr(request, "request_id", None),
                "method": request.method,
                "path": request.path,
                "status": status,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
                "user_id": user.pk if user is not None and user.is_authenticated else None,
            },
        )
        return response
