"""Donation Identification Number, ISBT 128 Data Structure 001 (ST-001 §2.4.1).

A DIN is `αppppyynnnnnn`: the 5-character Facility Identification Number (FIN), a 2-digit nominal
year and a 6-digit sequence. In a bar code it is preceded by `=` and followed by two flag characters;
on eye-readable text it is followed by the boxed check character K.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.utils.translation import gettext_lazy as _

from . import checkchar
from .config import DEFAULT_CONFIG, Isbt128Config
from .decoded import Decoded
from .errors import (
    BAD_CHECK_CHARACTER,
    OUT_OF_RANGE,
    RESERVED_FLAG,
    UNKNOWN_FACILITY,
    WRONG_LENGTH,
    Isbt128Error,
    Issue,
    issue,
    raise_on_errors,
)
from .fields import DIGITS, FIN_FIRST, FIN_SECOND, FLAG_CHARS, FieldRule, check_fields

SOURCE = "ISBT 128 ST-001 §2.4.1 (Data Structure 001)"
DIN_LENGTH = 13
BARCODE_LENGTH = 16  # "=" + 13-character DIN + 2 flag characters

DIN_RULES: tuple[FieldRule, ...] = (
    FieldRule(_("facility identification number"), 0, 1, FIN_FIRST, SOURCE),
    FieldRule(_("facility identification number"), 1, 2, FIN_SECOND, SOURCE),
    FieldRule(_("facility identification number"), 3, 2, DIGITS, SOURCE),
    FieldRule(_("year"), 5, 2, DIGITS, SOURCE),
    FieldRule(_("sequence number"), 7, 6, DIGITS, SOURCE),
)
FLAG_RULES: tuple[FieldRule, ...] = (
    FieldRule(_("flag characters"), 13, 2, frozenset(FLAG_CHARS), SOURCE),
)


@dataclass(frozen=True)
class FlagRule:
    """A range of DIN flag values and what they mean (ST-001 Table 3 [RT004])."""

    first: int
    last: int
    flag_type: int | None  # 1 ICCBBA process control, 2 local, 3 check character, None reserved
    meaning: str
    source: str = "ISBT 128 ST-001 §2.4.1, Table 3 [RT004]"


FLAG_TABLE: tuple[FlagRule, ...] = (
    FlagRule(0, 0, 1, "not_used"),
    FlagRule(1, 4, 1, "container_of_set"),
    FlagRule(5, 5, 1, "repeat_demand_printed_label"),
    FlagRule(6, 6, 1, "pilot_tube"),
    FlagRule(7, 7, 1, "test_tube"),
    FlagRule(8, 8, 1, "donor_record"),
    FlagRule(9, 9, 1, "nat_sample"),
    FlagRule(10, 10, 1, "bacterial_testing_sample"),
    FlagRule(11, 11, 1, "match_with_unit"),
    FlagRule(12, 12, 1, "affixed_partial_label"),
    FlagRule(13, 13, 1, "attached_partial_label"),
    FlagRule(14, 14, None, "reserved"),
    FlagRule(15, 19, 1, "container_of_set"),
    FlagRule(20, 59, 2, "local"),  # meaningful only within the FIN that defined it
    FlagRule(60, 96, 3, "check_character"),
    FlagRule(97, 99, None, "reserved"),
)


@dataclass(frozen=True)
class FlagInfo:
    """What a pair of DIN flag characters says, and how (or whether) a label prints them."""

    flags: str
    flag_type: int | None
    meaning: str
    container: int | None  # 1-9 for "container n of a set"
    check_value: int | None  # for Type 3 flags, the MOD 37-2 value they carry

    @property
    def printed(self) -> bool:
        """Type 3 flags are never printed and `00` may be left off (ST-001 §7.4.1)."""
        return self.flag_type in (1, 2) and self.flags != "00"

    def as_dict(self) -> dict[str, Any]:
        return {
            "flags": self.flags,
            "flag_type": self.flag_type,
            "meaning": self.meaning,
            "container": self.container,
        }


def interpret_flags(*, flags: str) -> FlagInfo:
    """Classify flag characters; alphanumeric and unassigned values come back as reserved."""
    if len(flags) == 2 and flags.isdigit() and flags.isascii():
        value = int(flags)
        rule = next(r for r in FLAG_TABLE if r.first <= value <= r.last)
        container = None
        if rule.meaning == "container_of_set":
            container = value if value <= 4 else value - 10
        check = value - checkchar.TYPE3_FLAG_BASE if rule.flag_type == 3 else None
        return FlagInfo(flags, rule.flag_type, rule.meaning, container, check)
    return FlagInfo(flags, None, "reserved", None, None)


@dataclass(frozen=True)
class DinEyeReadable:
    """The pieces a label needs to print a DIN: grouped text, K to draw in a box, and flags.

    Type 1/2 flags are printed rotated 90° clockwise (or as an icon) after the box (ST-001 §7.4.1).
    """

    groups: tuple[str, ...]
    check_character: str
    flags: str | None

    @property
    def text(self) -> str:
        return " ".join(self.groups)

    @property
    def flags_rotated(self) -> bool:
        return self.flags is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "groups": list(self.groups),
            "text": self.text,
            "check_character": self.check_character,
            "flags": self.flags,
            "flags_rotated": self.flags_rotated,
        }


@dataclass(frozen=True)
class Din:
    """A well-formed DIN with its flags; build it with `build_din` or read it with `parse_din`."""

    facility_id: str
    year: str
    sequence: str
    flags: str = "00"

    @property
    def din(self) -> str:
        return f"{self.facility_id}{self.year}{self.sequence}"

    @property
    def check_character(self) -> str:
        return checkchar.check_character(data=self.din)

    @property
    def barcode_data(self) -> str:
        return f"={self.din}{self.flags}"

    @property
    def keyed_text(self) -> str:
        """What a person types from the label: the DIN followed by its check character."""
        return self.din + self.check_character

    @property
    def flag_info(self) -> FlagInfo:
        return interpret_flags(flags=self.flags)

    def with_check_flags(self) -> Din:
        """The same DIN carrying K in its flags, so every scan verifies itself."""
        return replace(self, flags=checkchar.type3_flags(data=self.din))

    def eye_readable(self, *, grouping: tuple[int, ...] = (5, 2, 6)) -> DinEyeReadable:
        if sum(grouping) != DIN_LENGTH or any(g <= 0 for g in grouping):
            raise ValueError(f"DIN grouping must split 13 characters, got {grouping}")
        groups, start = [], 0
        for size in grouping:
            groups.append(self.din[start : start + size])
            start += size
        info = self.flag_info
        return DinEyeReadable(
            tuple(groups), self.check_character, self.flags if info.printed else None
        )


def _facility_issues(facility_id: str, config: Isbt128Config) -> list[Issue]:
    if config.facilities is not None and facility_id not in config.facilities:
        return [issue(UNKNOWN_FACILITY, facility=facility_id)]
    return []


def build_din(
    *,
    facility_id: str,
    year: int,
    sequence: int,
    flags: str = "00",
    check_flags: bool = False,
    config: Isbt128Config | None = None,
) -> Din:
    """Assemble a DIN for a new donation; `year` may be 0-99 or a full year (its last two digits).

    With `check_flags` the flags carry the check character (Type 3), which is what we recommend for
    labels Saisei prints: every scan then catches a misread.
    """
    config = config or DEFAULT_CONFIG
    issues: list[Issue] = []
    if not 0 <= year <= 9999:
        issues.append(issue(OUT_OF_RANGE, field=_("year"), minimum=0, maximum=9999))
    if not 0 <= sequence <= 999_999:
        issues.append(issue(OUT_OF_RANGE, field=_("sequence number"), minimum=0, maximum=999999))
    if len(facility_id) != 5:
        issues.append(
            issue(
                WRONG_LENGTH,
                structure=_("facility identification number"),
                found=len(facility_id),
                expected=5,
            )
        )
    if len(flags) != 2:
        issues.append(
            issue(WRONG_LENGTH, structure=_("flag characters"), found=len(flags), expected=2)
        )
    raise_on_errors(issues)
    din = Din(
        facility_id=facility_id, year=f"{year % 100:02d}", sequence=f"{sequence:06d}", flags=flags
    )
    raise_on_errors(check_fields(din.din + din.flags, DIN_RULES + FLAG_RULES, offset=0))
    info = interpret_flags(flags=flags)
    if check_flags:
        din = din.with_check_flags()
    elif info.flag_type == 3 and flags != checkchar.type3_flags(data=din.din):
        # A hand-chosen 60-96 value would claim to be a check character it is not.
        raise Isbt128Error(
            [issue(BAD_CHECK_CHARACTER, structure=_("donation identification number"))]
        )
    elif info.flag_type is None:
        # Reserved values are only a warning when read, but Saisei must not print them.
        raise Isbt128Error([issue(RESERVED_FLAG, flags=flags)])
    raise_on_errors(_facility_issues(facility_id, config))
    return din


def _din_fields(din13: str, flags: str | None, entry: str, config: Isbt128Config) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "din": din13,
        "facility_id": din13[0:5],
        "facility_name": config.facility_name(din13[0:5]),
        "year": din13[5:7],
        "sequence": din13[7:13],
        "entry": entry,
        "flags": flags,
        "flag_type": None,
        "flag_meaning": None,
        "container": None,
        "eye_readable": None,
    }
    if flags is not None:
        info = interpret_flags(flags=flags)
        fields.update(flag_type=info.flag_type, flag_meaning=info.meaning, container=info.container)
    return fields


def decode_din(content: str, *, offset: int, config: Isbt128Config) -> Decoded:
    """Read the 15 content characters after `=`, verifying K whenever Type 3 flags carry it."""
    din13, flags = content[:DIN_LENGTH], content[DIN_LENGTH:]
    issues = check_fields(content, DIN_RULES, offset=offset)
    flag_issues = check_fields(content, FLAG_RULES, offset=offset)
    issues += flag_issues
    fields = _din_fields(din13, flags, "scan", config)
    info = interpret_flags(flags=flags)
    if info.flag_type is None and not flag_issues:
        issues.append(issue(RESERVED_FLAG, flags=flags))
    check = _safe_check(din13)
    if (
        info.flag_type == 3
        and check is not None
        and info.check_value != checkchar.ALPHABET.index(check)
    ):
        issues.append(issue(BAD_CHECK_CHARACTER, structure=_("donation identification number")))
    value = None
    if not any(i.is_error for i in issues):
        value = Din(din13[0:5], din13[5:7], din13[7:13], flags)
        fields["eye_readable"] = value.eye_readable(grouping=config.din_grouping).as_dict()
        issues += _facility_issues(value.facility_id, config)
    # K is only reported for a usable DIN, so a screen never hands the right K to a mistyped one.
    return Decoded(value, fields, check if value is not None else None, issues)


def decode_keyed_din(text: str, *, config: Isbt128Config) -> Decoded:
    """Read a DIN typed from eye-readable text: 13 characters and K, spaces ignored, any case."""
    compact = "".join(text.split()).upper()
    issues: list[Issue] = []
    if len(compact) != DIN_LENGTH + 1:
        issues.append(
            issue(
                WRONG_LENGTH,
                structure=_("donation identification number"),
                found=len(compact),
                expected=DIN_LENGTH + 1,
            )
        )
        return Decoded(value=None, fields={"text": text}, check_character=None, issues=issues)
    din13, typed_k = compact[:DIN_LENGTH], compact[DIN_LENGTH]
    issues = check_fields(din13, DIN_RULES, offset=0)
    fields = _din_fields(din13, None, "keyed", config)
    check = _safe_check(din13)
    if check is not None and typed_k != check:
        issues.append(issue(BAD_CHECK_CHARACTER, structure=_("donation identification number")))
    value = None
    if not any(i.is_error for i in issues):
        value = Din(din13[0:5], din13[5:7], din13[7:13])
        fields["eye_readable"] = value.eye_readable(grouping=config.din_grouping).as_dict()
        issues += _facility_issues(value.facility_id, config)
    # K is only reported for a usable DIN, so a screen never hands the right K to a mistyped one.
    return Decoded(value, fields, check if value is not None else None, issues)


def looks_keyed(text: str) -> bool:
    """A typed DIN has no data identifier and 14 letters/digits/`*` once spaces are removed."""
    compact = "".join(text.split())
    return len(compact) == DIN_LENGTH + 1 and all(
        c.isascii() and (c.isalnum() or c == "*") for c in compact
    )


def _safe_check(din13: str) -> str | None:
    try:
        return checkchar.check_character(data=din13)
    except ValueError:
        return None


def parse_din(*, text: str, config: Isbt128Config | None = None) -> Din:
    """Strictly read a DIN from bar-code data, a bare 13-character DIN or a typed DIN with K.

    Raises Isbt128Error listing every problem; warnings (e.g. unknown facility) do not raise.
    """
    config = config or DEFAULT_CONFIG
    stripped = text.strip()
    if stripped.startswith("="):
        content = stripped[1:]
        if len(content) != BARCODE_LENGTH - 1:
            raise Isbt128Error(
                [
                    issue(
                        WRONG_LENGTH,
                        structure=_("donation identification number"),
                        found=len(stripped),
                        expected=BARCODE_LENGTH,
                    )
                ]
            )
        decoded = decode_din(content, offset=1, config=config)
    elif len(stripped) == DIN_LENGTH:
        decoded = decode_din(stripped + "00", offset=0, config=config)
    else:
        decoded = decode_keyed_din(stripped, config=config)
    raise_on_errors(decoded.issues)
    assert isinstance(decoded.value, Din)
    return decoded.value
