"""Helpers shared by the journey services: refusals with stable codes and permission guards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from saisei.core.errors import Conflict, Forbidden, NotFound, Throttled, ValidationFailed

__all__ = [
    "Conflict",
    "Forbidden",
    "NotFound",
    "Throttled",
    "ValidationFailed",
    "require",
    "stored_message",
]


def require(check: Callable[[Any], bool], actor: Any, obj: Any = None) -> None:
    """Refuse with 403 unless the actor holds the right role; other organisations get 404."""
    if obj is not None and getattr(obj, "organisation_id", None) != getattr(
        actor, "organisation_id", object()
    ):
        raise NotFound()
    if not check(actor):
        raise Forbidden()


def stored_message(message: Any, *, severity: str = "") -> dict[str, Any]:
    """Keep an explanation as msgid + parameters so it renders in any language later."""
    params = message.as_dict(language="en").get("params", {})
    out = {"code": message.code, "msgid": message.msgid, "params": params}
    if getattr(message, "date", None):
        out["date"] = message.date.isoformat()
    if severity:
        out["severity"] = severity
    return out
