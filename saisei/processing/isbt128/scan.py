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
KEYED_DIN_WITH_FLAGS = 16  # 13 characters, the two flag digits printed beside them, K
PRODUCT_LENGTH = 8


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


def _without_identifier(text: str, config: Isbt128Config) -> list[StructureResult]:
    """No `=`/`&` first: what a person typed from the label's eye-readable text, a
    keyboard-layout problem, or not ISBT 128.

    A typed label is the DIN as printed (spaces anywhere, any case, the two flag digits printed
    beside it optional, the check character K last), optionally followed by the product code as
    printed (its spaces too), e.g. ``A9999 26 000001 68 K S9999 1A0``.
    """
    tokens = text.split()
    compact = "".join(tokens)
    keyed_like = compact.isascii() and compact.replace("*", "").isalnum()
    if config.accept_keyed_din and keyed_like:
        din_text, product = _split_typed_product(tokens)
        din_compact = "".join(din_text.split())
        if (
            len(din_compact) == KEYED_DIN_WITH_FLAGS
            and len(tokens) > 1
            and din_compact[0].isalpha()
            and din_compact[13:15].isdigit()
        ):
            # Flags are printed beside the DIN but are not part of it or of its K. Only typed
            # text has spaces: a scan whose `=` was misread is never taken for DIN and flags.
            din_text = din_compact[:13] + din_compact[15]
            din_compact = din_text
        if len(din_compact) in KEYED_DIN_LENGTHS:
            structures = [_result(DIN_SPEC, din_text, decode_keyed_din(din_text, config=config))]
            if product is not None:
                spec = lookup("=<", 0)
                assert spec is not None and spec.decoder is not None
                structures.append(
                    _result(spec, product, spec.decoder(product, offset=0, config=config))
                )
            return structures
    if text[0] in LAYOUT_MISMATCH_STARTS:
        return [_unknown(text, issue(KEYBOARD_LAYOUT, character=repr(text[0])))]
    return [_unknown(text, issue(MISSING_DATA_IDENTIFIER))]


def _split_typed_product(tokens: list[str]) -> tuple[str, str | None]:
    """Split typed label text into the DIN part and a product code typed after it, if any.

    The product code is the last 8 characters when what comes before is as long as a typed DIN.
    """
    compact = "".join(tokens)
    din_part = compact[:-PRODUCT_LENGTH]
    if len(compact) > PRODUCT_LENGTH and (
        len(din_part) in KEYED_DIN_LENGTHS or len(din_part) == KEYED_DIN_WITH_FLAGS
    ):
        product = compact[-PRODUCT_LENGTH:]
        if product[:1].isalpha():
            # Printed upper case: the product description code and a division's first level;
            # a collection type and a second-level division may be lower case and stay as typed.
            return din_part, product[:5].upper() + product[5] + product[6].upper() + product[7]
    return " ".join(tokens), None


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
        return ScanResult(text, _without_identifier(text, config))
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
