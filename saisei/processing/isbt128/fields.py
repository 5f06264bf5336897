"""Character classes and a declarative field checker shared by the ISBT 128 structures."""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any

from .errors import BAD_CHARACTER, Issue, issue

DIGITS = frozenset(string.digits)
UPPER = frozenset(string.ascii_uppercase)
LOWER = frozenset(string.ascii_lowercase)
UPPER_ALNUM = UPPER | DIGITS
# ST-001 §2.4.1: O and 0 are excluded where a reader could confuse them.
FIN_FIRST = (UPPER - {"O"}) | (DIGITS - {"0"})
FIN_SECOND = (UPPER - {"O"}) | DIGITS
# ST-001 §2.4.1 Table 3: I, O, Q and Z are never flag characters.
FLAG_CHARS = DIGITS | (UPPER - set("IOQZ"))


@dataclass(frozen=True)
class FieldRule:
    """One fixed-position field of a data structure's content and the characters it may hold."""

    name: Any  # lazy translatable label, used in messages
    start: int
    length: int
    allowed: frozenset[str]
    source: str

    def slice(self, content: str) -> str:
        return content[self.start : self.start + self.length]


def check_fields(
    content: str, rules: tuple[FieldRule, ...], *, offset: int, field_label: Any = None
) -> list[Issue]:
    """One bad-character issue per offending character; `offset` maps to positions in the scan."""
    issues = []
    for rule in rules:
        for i, ch in enumerate(rule.slice(content)):
            if ch not in rule.allowed:
                issues.append(
                    issue(
                        BAD_CHARACTER,
                        character=repr(ch),
                        position=offset + rule.start + i + 1,
                        field=field_label or rule.name,
                    )
                )
    return issues
