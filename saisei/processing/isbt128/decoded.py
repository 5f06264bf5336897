"""The common result of decoding one data structure's content."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import Issue


@dataclass
class Decoded:
    """Typed value (None when the content is unusable), JSON-ready fields, K and issues."""

    value: Any
    fields: dict[str, Any]
    check_character: str | None = None
    issues: list[Issue] = field(default_factory=list)
