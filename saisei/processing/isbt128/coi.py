"""Chain of Identity Identifier, ISBT 128 Data Structure 040 (ST-001 §2.4.40; ST-028).

`&/` + `CH` + the issuing organisation's FIN + 2-digit year + 6-character sequence. One CoI
identifier links every donation (DIN) collected for one therapy event; Saisei issues one per
treatment course, across its harvests and infusion rounds. It never replaces the DIN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from . import checkchar
from .config import DEFAULT_CONFIG, Isbt128Config
from .decoded import Decoded
from .din import _facility_issues
from .errors import OUT_OF_RANGE, WRONG_LENGTH, Isbt128Error, Issue, issue, raise_on_errors
from .fields import DIGITS, FIN_FIRST, FIN_SECOND, UPPER_ALNUM, FieldRule, check_fields

SOURCE = "ISBT 128 ST-001 §2.4.40 (Data Structure 040); ST-028"
PREFIX = "CH"
CONTENT_LENGTH = 15

COI_RULES: tuple[FieldRule, ...] = (
    FieldRule(_("chain of identity prefix"), 0, 1, frozenset("C"), SOURCE),
    FieldRule(_("chain of identity prefix"), 1, 1, frozenset("H"), SOURCE),
    FieldRule(_("facility identification number"), 2, 1, FIN_FIRST, SOURCE),
    FieldRule(_("facility identification number"), 3, 2, FIN_SECOND, SOURCE),
    FieldRule(_("facility identification number"), 5, 2, DIGITS, SOURCE),
    FieldRule(_("year"), 7, 2, DIGITS, SOURCE),
    FieldRule(_("sequence number"), 9, 6, frozenset(UPPER_ALNUM), SOURCE),
)


@dataclass(frozen=True)
class CoiIdentifier:
    """A Chain of Identity identifier; its K depends on a configured rule (see Isbt128Config)."""

    facility_id: str
    year: str
    sequence: str

    @property
    def content(self) -> str:
        return f"{PREFIX}{self.facility_id}{self.year}{self.sequence}"

    @property
    def barcode_data(self) -> str:
        return f"&/{self.content}"

    def check_character(self, *, config: Isbt128Config | None = None) -> str:
        return checkchar.check_character(data=coi_check_input(self.content, config=config))

    def eye_readable(self, *, config: Isbt128Config | None = None) -> dict[str, Any]:
        """Text plus K to print in a box beside it (ST-001 §7.5 asks for K with the CoI text)."""
        return {"text": self.content, "check_character": self.check_character(config=config)}


def coi_check_input(content: str, *, config: Isbt128Config | None = None) -> str:
    """The characters that enter K: all 15, or without `CH`, as the site configures [U: ST-028]."""
    config = config or DEFAULT_CONFIG
    return content[len(PREFIX) :] if config.coi_check_input == "without_prefix" else content


def decode_coi(content: str, *, offset: int, config: Isbt128Config) -> Decoded:
    """Read the 15 content characters after `&/`."""
    issues = check_fields(content, COI_RULES, offset=offset)
    fields: dict[str, Any] = {
        "coi": content,
        "facility_id": content[2:7],
        "facility_name": config.facility_name(content[2:7]),
        "year": content[7:9],
        "sequence": content[9:15],
        "eye_readable": None,
    }
    value, check = None, None
    if not issues:
        value = CoiIdentifier(content[2:7], content[7:9], content[9:15])
        check = value.check_character(config=config)
        fields["eye_readable"] = value.eye_readable(config=config)
        issues += _facility_issues(value.facility_id, config)
    return Decoded(value=value, fields=fields, check_character=check, issues=issues)


def build_coi(
    *, facility_id: str, year: int, sequence: int | str, config: Isbt128Config | None = None
) -> CoiIdentifier:
    """Assemble a CoI identifier; an integer sequence is zero-padded to 6 digits."""
    config = config or DEFAULT_CONFIG
    issues: list[Issue] = []
    if isinstance(sequence, int):
        if not 0 <= sequence <= 999_999:
            issues.append(
                issue(OUT_OF_RANGE, field=_("sequence number"), minimum=0, maximum=999999)
            )
        sequence = f"{sequence:06d}"
    if not 0 <= year <= 9999:
        issues.append(issue(OUT_OF_RANGE, field=_("year"), minimum=0, maximum=9999))
    content = f"{PREFIX}{facility_id}{year % 100:02d}{sequence}"
    if len(facility_id) != 5 or len(sequence) != 6:
        issues.append(
            issue(
                WRONG_LENGTH,
                structure=_("chain of identity identifier"),
                found=len(content),
                expected=CONTENT_LENGTH,
            )
        )
    raise_on_errors(issues)
    decoded = decode_coi(content, offset=0, config=config)
    raise_on_errors(decoded.issues)
    if not isinstance(decoded.value, CoiIdentifier):
        raise Isbt128Error(decoded.issues)
    return decoded.value
