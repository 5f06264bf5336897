"""Helpers shared by the journey services: refusals with stable codes and permission guards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from saisei.core.errors import Conflict, Forbidden, NotFound, ValidationFailed

__all__ = ["Conflict", "Forbidden", "NotFound", "ValidationFailed", "require"]


def require(check: Callable[[Any], bool], actor: Any, obj: Any = None) -> None:
    """Refuse with 403 unless the actor holds the right role; other organisations get 404."""
    if obj is not None and getattr(obj, "organisation_id", None) != getattr(
        actor, "organisation_id", object()
    ):
        raise NotFound()
    if not check(actor):
        raise Forbidden()
