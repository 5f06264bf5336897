"""Domain errors for the pure journey layer, built on the project's shared error classes."""

from __future__ import annotations

from saisei.core.errors import ValidationFailed


class JourneyError(ValidationFailed):
    """Input to a journey calculation breaks a rule; the API answers 422 with the stable code."""


__all__ = ["JourneyError"]
