"""Product Code (Data Structure 003) and Product Divisions (Data Structure 032).

`αooootds`: the 5-character Product Description Code (PDC, licensed table, site-configured), then for
cellular therapy (α = S) a collection-type code `t` and a division code `ds` (ST-001 §2.4.3).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, replace
from typing import Any

from django.utils.translation import gettext_lazy as _

from .config import DEFAULT_CONFIG, Isbt128Config
from .decoded import Decoded
from .errors import (
    BAD_DIVISION,
    OUT_OF_RANGE,
    UNKNOWN_PRODUCT_CODE,
    UNRECOGNISED_DIVISION,
    WRONG_LENGTH,
    Isbt128Error,
    Issue,
    issue,
    raise_on_errors,
)
from .fields import DIGITS, LOWER, UPPER, UPPER_ALNUM, FieldRule, check_fields

SOURCE = "ISBT 128 ST-001 §2.4.3 (Data Structure 003)"
DS032_SOURCE = "ISBT 128 ST-001 §2.4.32 (Data Structure 032)"
CONTENT_LENGTH = 8
UNDIVIDED = "00"
SEE_DS032 = "99"  # the division is carried by a Product Divisions structure instead


@dataclass(frozen=True)
class ProductFamily:
    """What the first PDC character says about the product and how `tds` is laid out."""

    code: str
    name: str
    layout: str  # "collection_division" | "pack" | "reserved" | "national"
    source: str = "ISBT 128 ST-001 §2.4.3"


FAMILIES: dict[str, ProductFamily] = {
    f.code: f
    for f in (
        ProductFamily("E", "blood_component", "collection_division"),
        ProductFamily("F", "blood_component", "collection_division"),
        ProductFamily("H", "mpho_with_inn_or_usan", "collection_division"),
        ProductFamily("M", "other_therapy", "pack"),
        ProductFamily("N", "organ", "pack"),
        ProductFamily("P", "regenerated_tissue", "collection_division"),
        ProductFamily("R", "reproductive_tissue_and_cells", "pack"),
        ProductFamily("S", "cellular_therapy", "collection_division"),
        ProductFamily("T", "tissue", "pack"),
        ProductFamily("V", "ocular_tissue", "pack"),
        ProductFamily("W", "fecal_microbiota", "pack"),
        ProductFamily("X", "other_blood_product", "reserved"),
        ProductFamily("Y", "clinical_trial", "collection_division"),
        ProductFamily("A", "national", "national"),
        ProductFamily("B", "national", "national"),
        ProductFamily("C", "national", "national"),
        ProductFamily("D", "local_facility", "national"),
    )
}

PDC_RULES: tuple[FieldRule, ...] = (
    FieldRule(_("product description code"), 0, 1, frozenset(UPPER), SOURCE),
    FieldRule(_("product description code"), 1, 4, frozenset(UPPER_ALNUM), SOURCE),
)
CT_RULES: tuple[FieldRule, ...] = (
    FieldRule(_("collection type"), 5, 1, frozenset(UPPER_ALNUM | LOWER), SOURCE),
    FieldRule(_("division code"), 6, 1, frozenset(UPPER_ALNUM), SOURCE),
    FieldRule(_("division code"), 7, 1, frozenset(LOWER | DIGITS), SOURCE),
)
OTHER_RULES: tuple[FieldRule, ...] = (
    FieldRule(_("product code"), 5, 3, frozenset(UPPER_ALNUM | LOWER), SOURCE),
)
DS032_RULES: tuple[FieldRule, ...] = (
    FieldRule(_("product divisions"), 0, 6, frozenset(UPPER_ALNUM | LOWER), DS032_SOURCE),
)


def _family(pdc: str) -> ProductFamily | None:
    family = FAMILIES.get(pdc[:1])
    if family is not None and family.code == "X" and pdc[1:2] == "0":
        return ProductFamily("X", "plasma_derivative", "collection_division")
    return family


def division_code(*, first: int, second: int = 0) -> str:
    """Division code for bag `first` (1-26 -> A-Z), optionally split again (1-26 -> a-z).

    Saisei divides one harvest's product into doses/bags this way, keeping the DIN (ST-001 §2.4.3).
    """
    if not 0 <= first <= 26 or not 0 <= second <= 26 or (first == 0 and second):
        raise Isbt128Error([issue(OUT_OF_RANGE, field=_("division"), minimum=1, maximum=26)])
    if first == 0:
        return UNDIVIDED
    return string.ascii_uppercase[first - 1] + (
        "0" if second == 0 else string.ascii_lowercase[second - 1]
    )


def division_levels(division: str) -> tuple[int, int] | None:
    """(first, second) level numbers of a letter division code, (0, 0) if undivided, else None."""
    if division == UNDIVIDED:
        return (0, 0)
    d, s = division[:1], division[1:2]
    if d in UPPER and (s == "0" or s in LOWER):
        return (ord(d) - 64, 0 if s == "0" else ord(s) - 96)
    return None


@dataclass(frozen=True)
class ProductCode:
    """A cellular-therapy style product code: PDC, collection type and division."""

    pdc: str
    collection_type: str
    division: str = UNDIVIDED

    @property
    def code(self) -> str:
        return f"{self.pdc}{self.collection_type}{self.division}"

    @property
    def barcode_data(self) -> str:
        return f"=<{self.code}"

    def with_division(self, division: str) -> ProductCode:
        return replace(self, division=division)


def _division_issues(division: str) -> list[Issue]:
    if division in (UNDIVIDED, SEE_DS032) or division_levels(division) is not None:
        return []
    if division[:1] == "0" and division[1:2] in LOWER:
        return [issue(BAD_DIVISION, division=division)]
    return [issue(UNRECOGNISED_DIVISION, division=division)]


def decode_product_code(content: str, *, offset: int, config: Isbt128Config) -> Decoded:
    """Read the 8 content characters after `=<`; the PDC is looked up in the site's table."""
    pdc = content[:5]
    family = _family(pdc)
    layout = family.layout if family else "national"
    fields: dict[str, Any] = {
        "product_code": content,
        "product_description_code": pdc,
        "product_family": family.name if family else None,
        "description": config.product_description(pdc),
    }
    issues = check_fields(content, PDC_RULES, offset=offset)
    if layout == "collection_division":
        issues += check_fields(content, CT_RULES, offset=offset)
        t, division = content[5], content[6:8]
        ctype = config.collection_types.get(t)
        fields.update(
            collection_type=t,
            collection_type_meaning=ctype.meaning if ctype else None,
            autologous=ctype.autologous if ctype else None,
            division=division,
            divided=division != UNDIVIDED,
            division_levels=list(levels) if (levels := division_levels(division)) else None,
            divisions_in_ds032=division == SEE_DS032,
        )
        if not issues:
            issues += _division_issues(division)
    else:
        issues += check_fields(content, OTHER_RULES, offset=offset)
        fields.update(pack_code=content[5:8])
    if family is None or (
        config.product_descriptions is not None and fields["description"] is None
    ):
        issues.append(issue(UNKNOWN_PRODUCT_CODE, code=pdc))
    value = None
    if layout == "collection_division" and not any(i.is_error for i in issues):
        value = ProductCode(pdc=pdc, collection_type=content[5], division=content[6:8])
    return Decoded(value=value, fields=fields, check_character=None, issues=issues)


def decode_product_divisions(content: str, *, offset: int, config: Isbt128Config) -> Decoded:
    """Read DS032 (`=,dddddd`), used with a product code whose division is 99."""
    issues = check_fields(content, DS032_RULES, offset=offset)
    return Decoded(value=None, fields={"divisions": content}, issues=issues)


def build_product_code(
    *,
    pdc: str,
    collection_type: str,
    division: str = UNDIVIDED,
    config: Isbt128Config | None = None,
) -> ProductCode:
    """Assemble a product code for a label; refuses anything a scanner would flag as an error."""
    config = config or DEFAULT_CONFIG
    content = f"{pdc}{collection_type}{division}"
    if len(pdc) != 5 or len(collection_type) != 1 or len(division) != 2:
        raise Isbt128Error(
            [
                issue(
                    WRONG_LENGTH,
                    structure=_("product code"),
                    found=len(content),
                    expected=CONTENT_LENGTH,
                )
            ]
        )
    decoded = decode_product_code(content, offset=0, config=config)
    raise_on_errors(decoded.issues)
    if not isinstance(decoded.value, ProductCode):
        raise Isbt128Error([issue(UNKNOWN_PRODUCT_CODE, code=pdc)])
    return decoded.value
