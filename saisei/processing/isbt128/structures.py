"""Index of ISBT 128 data identifiers (ST-001 §2.3, Table 2 [RT003]) and how Saisei reads each.

Structures Saisei uses are decoded into fields; the others are recognised by identifier and length so
that concatenated or compound scans still split correctly, and their content is passed through.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from .coi import decode_coi
from .config import Isbt128Config
from .dates import decode_date, decode_datetime
from .decoded import Decoded
from .din import decode_din
from .fields import DIGITS, UPPER_ALNUM, FieldRule, check_fields
from .product import decode_product_code, decode_product_divisions

Decoder = Callable[..., Decoded]
LengthRule = Callable[[str], int | None]


@dataclass(frozen=True)
class StructureSpec:
    """One data structure: its identifier, content length (or a rule for it) and decoder."""

    identifier: str
    number: str | None
    type: str
    label: Any  # lazy translatable name used in messages
    length: int | LengthRule | None  # None: not standardised, the rest of the scan is taken
    decoder: Decoder | None = None
    retired: bool = False
    source: str = "ISBT 128 ST-001 §2.3, Table 2 [RT003]"

    @property
    def opaque(self) -> bool:
        return self.length is None


def _counted(count_digits: int, segment: int) -> LengthRule:
    """Length rule for structures that start with a count of fixed-size segments (DS029, DS030)."""

    def rule(content: str) -> int | None:
        count = content[:count_digits]
        if len(count) != count_digits or not count.isdigit():
            return None
        return count_digits + int(count) * segment

    return rule


def _patient_id_length(content: str) -> int | None:
    """DS025 `aallxx…`: `ll` gives the length of the identifier that follows."""
    ll = content[2:4]
    return 4 + int(ll) if len(ll) == 2 and ll.isdigit() else None


def _split(*parts: tuple[str, int, frozenset[str]]) -> Decoder:
    """Decoder for simple structures: named fixed-width parts, each with its allowed characters."""

    def decode(content: str, *, offset: int, config: Isbt128Config) -> Decoded:
        fields, start, rules = {}, 0, []
        for name, width, allowed in parts:
            fields[name] = content[start : start + width]
            rules.append(FieldRule(_("data"), start, width, allowed, "ISBT 128 ST-001 §2.4"))
            start += width
        issues = check_fields(content, tuple(rules), offset=offset)
        return Decoded(value=None, fields=fields, issues=issues)

    return decode


ALNUM = frozenset(UPPER_ALNUM)
NUMERIC = frozenset(DIGITS)


def _compound(content: str, *, offset: int, config: Isbt128Config) -> Decoded:
    """DS023 `aabbb`: how many structures follow and which message type (000: order unspecified)."""
    split = _split(("count", 2, NUMERIC), ("message_type", 3, NUMERIC))
    decoded = split(content, offset=offset, config=config)
    if not decoded.issues:
        decoded.fields["count"] = int(content[:2])
        decoded.fields["order_specified"] = content[2:] != "000"
    return decoded


DIN_SPEC = StructureSpec("=", "001", "din", _("donation identification number"), 15, decode_din)

SPECS: tuple[StructureSpec, ...] = (
    DIN_SPEC,
    StructureSpec("=%", "002", "blood_groups", _("blood group"), 4),
    StructureSpec("=<", "003", "product_code", _("product code"), 8, decode_product_code),
    StructureSpec("=>", "004", "expiration_date", _("expiration date"), 6, decode_date),
    StructureSpec("&>", "005", "expiration", _("expiration date and time"), 10, decode_datetime),
    StructureSpec("=*", "006", "collection_date", _("collection date"), 6, decode_date),
    StructureSpec(
        "&*", "007", "collection_datetime", _("collection date and time"), 10, decode_datetime
    ),
    StructureSpec("=}", "008", "production_date", _("production date"), 6, decode_date),
    StructureSpec(
        "&}", "009", "production_datetime", _("production date and time"), 10, decode_datetime
    ),
    StructureSpec("&(", "010", "special_testing", _("special testing code"), 5),
    StructureSpec("={", "011", "retired", _("retired structure"), 18, retired=True),
    StructureSpec("=\\", "012", "red_cell_antigens", _("red cell antigens"), 18),
    StructureSpec("&\\", "013", "red_cell_antigens_finnish", _("red cell antigens"), 18),
    StructureSpec("&{", "014", "platelet_hla_antigens", _("platelet and HLA antigens"), 18),
    StructureSpec("=[", "015", "retired", _("retired structure"), 18, retired=True),
    StructureSpec('="', "016", "retired", _("retired structure"), 18, retired=True),
    StructureSpec("=)", "017", "container_catalog", _("container catalogue number"), 10),
    StructureSpec("&)", "018", "container_lot", _("container lot number"), 10),
    StructureSpec("=;", "019", "donor_id", _("donor identification number"), 21),
    StructureSpec(
        "='",
        "020",
        "staff_id",
        _("staff member identification"),
        11,
        _split(("facility_id", 5, ALNUM), ("staff_id", 6, ALNUM)),
    ),
    StructureSpec("=-", "021", "item_catalog", _("item catalogue number"), 10),
    StructureSpec("&-", "022", "item_lot", _("item lot number"), 10),
    StructureSpec("=+", "023", "compound_message", _("compound message header"), 5, _compound),
    StructureSpec("=#", "024", "patient_birth_date", _("patient date of birth"), 10),
    StructureSpec(
        "&#", "025", "patient_id", _("patient identification number"), _patient_id_length
    ),
    StructureSpec("=]", "026", "expiration_month", _("expiration month"), 6),
    StructureSpec('&"', "027", "infectious_markers", _("infectious markers"), 18),
    StructureSpec("=$", "028", "product_consignment", _("product consignment"), 16),
    StructureSpec("&$", "029", "dimensions", _("dimensions"), _counted(2, 14)),
    StructureSpec(
        "&%", "030", "red_cell_antigens_history", _("red cell antigens"), _counted(3, 10)
    ),
    StructureSpec("=(", "031", "flexible_datetime", _("flexible date and time"), 16),
    StructureSpec(
        "=,", "032", "product_divisions", _("product divisions"), 6, decode_product_divisions
    ),
    StructureSpec(
        "&+",
        "033",
        "processing_facility",
        _("processing facility code"),
        11,
        _split(("facility_id", 5, ALNUM), ("facility_product_code", 6, ALNUM)),
    ),
    StructureSpec("=/", "034", "processor_product_id", _("processor product identification"), 16),
    StructureSpec("&,1", "035", "mpho_lot", _("MPHO lot number"), 18),
    StructureSpec("&,2", "036", "mpho_supplemental_id", _("MPHO supplemental identification"), 18),
    StructureSpec("&,3", "037", "retired", _("retired structure"), 19, retired=True),
    StructureSpec("&,4", "038", "sec", _("Single European Code"), 40),
    StructureSpec("&:", "039", "donor_registration_id", _("donor registration identifier"), 19),
    StructureSpec("&/", "040", "coi", _("chain of identity identifier"), 15, decode_coi),
    # ST-001 §2.5: nationally or locally defined; ICCBBA does not fix their length.
    StructureSpec("&;", None, "national", _("national donor identification"), None),
    StructureSpec("&!", None, "national", _("confidential unit exclusion status"), None),
    *(
        StructureSpec(f"&{c}", None, "national", _("national or local structure"), None)
        for c in string.ascii_lowercase
    ),
)

_BY_IDENTIFIER = {s.identifier: s for s in SPECS if s is not DIN_SPEC}


def lookup(text: str, pos: int) -> StructureSpec | None:
    """The structure whose identifier starts at `pos`; an alphanumeric after `=` means a DIN."""
    second = text[pos + 1 : pos + 2]
    if text[pos] == "=" and second.isascii() and second.isalnum():
        return DIN_SPEC  # characters not allowed in a FIN are reported by the DIN decoder
    return _BY_IDENTIFIER.get(text[pos : pos + 3]) or _BY_IDENTIFIER.get(text[pos : pos + 2])
