"""Read what a bar-code scanner (a keyboard wedge) typed into a field: one or more ISBT 128 structures.

Concatenated linear codes and Data Matrix compound messages arrive as one string of structures, each
introduced by its data identifier (ST-001 §2.1, §10). Every structure is reported with its own
errors, so a screen can say exactly what is wrong and a service can refuse precisely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

from .config import DEFAULT_CONFIG, Isbt128Config
from .decoded import Decoded
from .din import decode_keyed_din
from .errors import (
    COMPOUND_COUNT_MISMATCH,
    EMPTY,
    KEYBOARD_LAYOUT,
    MISSING_DATA_IDENTIFIER,
    NOT_ALLOWED_IN_COMPOUND,
    OPAQUE_STRUCTURE,
    RETIRED_STRUCTURE,
    UNKNOWN_STRUCTURE,
    WRONG_LENGTH,
    Issue,
    issue,
)
from .structures import DIN_SPEC, StructureSpec, lookup

DATA_IDENTIFIER_STARTS = "=&"
# First characters that `=` or `&` turn into when the scanner and the computer disagree on the
# keyboard layout (US versus Japanese JIS, in either direction).
LAYOUT_MISMATCH_STARTS = "^'_"
KEYED_DIN_LENGTHS = range(13, 16)


@dataclass
class StructureResult:
    """One data structure read from a scan; `value` is the typed object for services, if usable."""

    type: str
    data_structure: str | None
    raw: str
    fields: dict[str, Any] = field(default_factory=dict)
    check_character: str | None = None
    issues: list[Issue] = field(default_factory=list)
    value: Any = None
    label: Any = None  # translatable structure name for messages; not part of the API output

    @property
    def valid(self) -> bool:
        return not any(i.is_error for i in self.issues)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.is_error]

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "fields": self.fields,
            "check_character": self.check_character,
            "valid": self.valid,
            "errors": [i.as_dict() for i in self.issues],
        }


@dataclass
class ScanResult:
    """All structures of one scan, in the order they were read (left code first)."""

    data: str
    structures: list[StructureResult]

    @property
    def valid(self) -> bool:
        return bool(self.structures) and all(s.valid for s in self.structures)

    def of_type(self, structure_type: str) -> list[StructureResult]:
        return [s for s in self.structures if s.type == structure_type]

    def as_dict(self) -> dict[str, Any]:
        """The response body of POST /api/v1/scans/parse."""
        return {"valid": self.valid, "structures": [s.as_dict() for s in self.structures]}


def normalise(data: str, *, config: Isbt128Config) -> str:
    """Remove what keyboard wedges add around the data: whitespace, CR/LF, a symbology identifier."""
    text = data.strip()
    if config.strip_symbology_identifier and text.startswith("]") and len(text) >= 3:
        text = text[3:].strip()  # AIM identifier "]" + symbology letter + modifier (ISO/IEC 15424)
    return text


def _unknown(raw: str, problem: Issue) -> StructureResult:
    return StructureResult(
        "unknown", None, raw, {"data": raw}, issues=[problem], label=_("scanned code")
    )


def _result(spec: StructureSpec, raw: str, decoded: Decoded) -> StructureResult:
    return StructureResult(
        type=spec.type,
        data_structure=spec.number,
        raw=raw,
        fields=decoded.fields,
        check_character=decoded.check_character,
        issues=decoded.issues,
        value=decoded.value,
        label=spec.label,
    )


def _without_identifier(text: str, config: Isbt128Config) -> StructureResult:
    """No `=`/`&` first: a DIN typed from a label, a keyboard-layout problem, or not ISBT 128."""
    compact = "".join(text.split())
    keyed_like = compact.isascii() and compact.replace("*", "").isalnum()
    if config.accept_keyed_din and keyed_like and len(compact) in KEYED_DIN_LENGTHS:
        return _result(DIN_SPEC, text, decode_keyed_din(text, config=config))
    if text[0] in LAYOUT_MISMATCH_STARTS:
        return _unknown(text, issue(KEYBOARD_LAYOUT, character=repr(text[0])))
    return _unknown(text, issue(MISSING_DATA_IDENTIFIER))


def _content_length(spec: StructureSpec, rest: str) -> int | None:
    if isinstance(spec.length, int):
        return spec.length
    return spec.length(rest) if spec.length is not None else None


def _cut(content: str) -> int | None:
    """Where another structure starts inside this one's content: the scan was cut short there."""
    hits = [h for h in (content.find(c, 1) for c in DATA_IDENTIFIER_STARTS) if h > 0]
    return min(hits) if hits else None


def _read_one(
    text: str, pos: int, spec: StructureSpec, config: Isbt128Config
) -> tuple[StructureResult, int]:
    """Read the structure at `pos`; returns it and where the next one starts."""
    start = pos + (1 if spec is DIN_SPEC else len(spec.identifier))
    rest = text[start:]
    if spec.length is None:
        fields = {"data_identifier": spec.identifier, "data": rest}
        opaque = [issue(OPAQUE_STRUCTURE, identifier=spec.identifier)]
        return _result(spec, text[pos:], Decoded(None, fields, None, opaque)), len(text)
    length = _content_length(spec, rest)
    content = rest[:length] if length is not None else rest
    cut = _cut(content)
    if length is None or len(content) < length or cut is not None:
        content = content[:cut] if cut is not None else content
        di_length = start - pos
        problem = issue(
            WRONG_LENGTH,
            structure=spec.label,
            found=di_length + len(content),
            expected=di_length + length if length is not None else "?",
        )
        decoded = Decoded(None, {"data": content}, None, [problem])
        return _result(spec, text[pos : start + len(content)], decoded), start + len(content)
    raw = text[pos : start + length]
    if spec.retired:
        retired = [issue(RETIRED_STRUCTURE, number=spec.number)]
        decoded = Decoded(None, {"data": content}, None, retired)
    elif spec.decoder is None:
        decoded = Decoded(None, {"data": content})
    else:
        decoded = spec.decoder(content, offset=start, config=config)
    return _result(spec, raw, decoded), start + length


def _check_compound(structures: list[StructureResult]) -> None:
    """A compound message announces how many structures follow; a short read must not pass."""
    for index, header in enumerate(structures):
        if header.type != "compound_message" or not header.valid:
            continue
        following = structures[index + 1 :]
        if len(following) != header.fields["count"]:
            header.issues.append(
                issue(
                    COMPOUND_COUNT_MISMATCH, expected=header.fields["count"], found=len(following)
                )
            )
        for s in following:
            if s.type == "national":
                s.issues.append(issue(NOT_ALLOWED_IN_COMPOUND))


def parse_scan(data: str, *, config: Isbt128Config | None = None) -> ScanResult:
    """Split scanned text into its data structures and decode each; never raises on bad input."""
    config = config or DEFAULT_CONFIG
    text = normalise(data, config=config)
    if not text:
        return ScanResult(text, [_unknown("", issue(EMPTY))])
    if text[0] not in DATA_IDENTIFIER_STARTS:
        return ScanResult(text, [_without_identifier(text, config)])
    structures: list[StructureResult] = []
    pos = 0
    while pos < len(text):
        if text[pos] not in DATA_IDENTIFIER_STARTS:
            # Trailing characters with no identifier: the previous structure was too long.
            last = structures[-1]
            last.issues.append(
                issue(
                    WRONG_LENGTH,
                    structure=last.label,
                    found=len(last.raw) + len(text) - pos,
                    expected=len(last.raw),
                )
            )
            last.raw += text[pos:]
            break
        spec = lookup(text, pos)
        if spec is None:
            structures.append(
                _unknown(text[pos:], issue(UNKNOWN_STRUCTURE, identifier=text[pos : pos + 2]))
            )
            break
        result, pos = _read_one(text, pos, spec, config)
        structures.append(result)
    _check_compound(structures)
    return ScanResult(text, structures)
