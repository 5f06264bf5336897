"""Domain errors for the pure journey layer, built on the project's shared error classes."""

from __future__ import annotations

from typing import Any

try:
    from saisei.core.errors import ValidationFailed as _Base
except ImportError:  # the core app may not be importable yet while the tree is being built

    class _Base(Exception):  # type: ignore[no-redef]
        status_code = 422

        def __init__(self, code: str, message: Any, fields: dict[str, Any] | None = None) -> None:
            super().__init__(str(message))
            self.code = code
            self.message = message
            self.fields = fields or {}


class JourneyError(_Base):
    """Input to a journey calculation breaks a rule; the API answers 422 with the stable code."""


__all__ = ["JourneyError"]
