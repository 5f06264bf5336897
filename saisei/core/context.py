"""Per-request context (request id, client address) for the audit ledger.

Services read it so that callers need not pass it through every layer; background tasks and
commands set their own values.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str
    client_ip: str | None = None
    user_agent: str = ""


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "saisei_request_context", default=None
)


def current() -> RequestContext:
    ctx = _current.get()
    if ctx is None:
        return RequestContext(request_id=f"local-{uuid.uuid4()}")
    return ctx


def current_or_none() -> RequestContext | None:
    """The context of the request being handled, or None outside one (logs omit the id)."""
    return _current.get()


@contextmanager
def request_context(
    *, request_id: str, client_ip: str | None = None, user_agent: str = ""
) -> Iterator[RequestContext]:
    ctx = RequestContext(request_id=request_id, client_ip=client_ip, user_agent=user_agent)
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)
