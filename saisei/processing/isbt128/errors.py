"""Issue catalogue for ISBT 128 parsing: every problem has a stable code, a severity and a message.

Codes are part of the API contract (scanner screens and audit records key on them), so they never
change meaning; messages are translatable and may be reworded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from django.utils.translation import gettext_lazy as _

from saisei.core.errors import ValidationFailed

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class IssueSpec:
    """One entry of the catalogue: a warning never makes a structure invalid."""

    code: str
    severity: Severity
    message: Any  # lazy translation proxy with %(name)s placeholders


def _spec(code: str, severity: Severity, message: Any) -> IssueSpec:
    return IssueSpec(code=code, severity=severity, message=message)


EMPTY = _spec("isbt128.empty", "error", _("Nothing was scanned."))
UNKNOWN_STRUCTURE = _spec(
    "isbt128.unknown_structure",
    "error",
    _("The code %(identifier)s is not an ISBT 128 data structure this system recognises."),
)
MISSING_DATA_IDENTIFIER = _spec(
    "isbt128.missing_data_identifier",
    "error",
    _(
        "This is not a label this field can read. Expected the bar code (it starts with = or "
        "&), or the text printed under it: the DIN with its check character, e.g. "
        "A9999 26 000001 K, then the product code, e.g. S1234 1A0."
    ),
)
KEYBOARD_LAYOUT = _spec(
    "isbt128.keyboard_layout_suspected",
    "error",
    _(
        "The scan starts with %(character)s where = or & was expected. The scanner's keyboard "
        "layout probably does not match the computer's (for example US versus Japanese)."
    ),
)
WRONG_LENGTH = _spec(
    "isbt128.wrong_length",
    "error",
    _("The %(structure)s has %(found)s characters; %(expected)s were expected."),
)
BAD_CHARACTER = _spec(
    "isbt128.bad_character",
    "error",
    _("The character %(character)s at position %(position)s is not allowed in the %(field)s."),
)
BAD_CHECK_CHARACTER = _spec(
    "isbt128.bad_check_character",
    "error",
    _(
        "The check character does not match the %(structure)s. A character was probably "
        "misread or mistyped: scan or type it again."
    ),
)
INVALID_DATE = _spec(
    "isbt128.invalid_date",
    "error",
    _("Day %(day)s does not exist in the year %(year)s."),
)
INVALID_TIME = _spec(
    "isbt128.invalid_time",
    "error",
    _("The time %(time)s is not a valid 24-hour clock time (00:00 to 23:59)."),
)
BAD_DIVISION = _spec(
    "isbt128.bad_division",
    "error",
    _("The division code %(division)s is not valid: a second-level division needs a first level."),
)
UNRECOGNISED_DIVISION = _spec(
    "isbt128.unrecognised_division",
    "warning",
    _("The division code %(division)s is not one this system can interpret."),
)
RESERVED_FLAG = _spec(
    "isbt128.reserved_flag",
    "warning",
    _("The flag characters %(flags)s are reserved by ICCBBA and have no assigned meaning."),
)
UNKNOWN_FACILITY = _spec(
    "isbt128.unknown_facility",
    "warning",
    _("Facility %(facility)s is not in the configured facility list."),
)
UNKNOWN_PRODUCT_CODE = _spec(
    "isbt128.unknown_product_code",
    "warning",
    _("Product description code %(code)s is not in the configured product list."),
)
RETIRED_STRUCTURE = _spec(
    "isbt128.retired_structure",
    "warning",
    _("Data structure %(number)s has been retired by ICCBBA; its content is not interpreted."),
)
OPAQUE_STRUCTURE = _spec(
    "isbt128.opaque_structure",
    "warning",
    _(
        "The code %(identifier)s is a nationally or locally defined structure; "
        "its content is passed on uninterpreted."
    ),
)
NOT_ALLOWED_IN_COMPOUND = _spec(
    "isbt128.not_allowed_in_compound",
    "error",
    _("A nationally or locally defined structure may not be part of a compound message."),
)
COMPOUND_COUNT_MISMATCH = _spec(
    "isbt128.compound_count_mismatch",
    "error",
    _(
        "The compound message announces %(expected)s data structures but %(found)s were read; "
        "the scan may be incomplete."
    ),
)
OUT_OF_RANGE = _spec(
    "isbt128.out_of_range",
    "error",
    _("The %(field)s must be between %(minimum)s and %(maximum)s."),
)


@dataclass(frozen=True)
class Issue:
    """A problem found in scanned or supplied data, rendered in the active language on output."""

    spec: IssueSpec
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return self.spec.code

    @property
    def severity(self) -> Severity:
        return self.spec.severity

    @property
    def is_error(self) -> bool:
        return self.spec.severity == "error"

    def message(self) -> str:
        text = str(self.spec.message)
        return text % {k: str(v) for k, v in self.params.items()} if self.params else text

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message(), "severity": self.severity}


def issue(spec: IssueSpec, **params: Any) -> Issue:
    return Issue(spec=spec, params=params)


class Isbt128Error(ValidationFailed):
    """Raised by the strict builders and parsers; `issues` keeps every problem, not just the first."""

    def __init__(self, issues: list[Issue]) -> None:
        first = next((i for i in issues if i.is_error), issues[0])
        super().__init__(first.code, first.message(), {"issues": [i.message() for i in issues]})
        self.issues = issues


def raise_on_errors(issues: list[Issue]) -> None:
    """Strict callers (label printing, services) refuse data that has any error-level issue."""
    if any(i.is_error for i in issues):
        raise Isbt128Error(issues)
