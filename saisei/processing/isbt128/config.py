"""Site configuration for ISBT 128: the licensed tables and the choices the facts left open.

The Facility Identification Number table and the Product Description Code database are ICCBBA's
licensed data (ST-001 §1; ICCBBA licence terms), so Saisei never ships them: each site supplies its
own subset here. Items our sources could not confirm are parameters with a documented default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal


@dataclass(frozen=True)
class CollectionType:
    """A collection-type code `t` of a cellular-therapy product code (ST-001 Table 7 [RT008])."""

    code: str
    meaning: str  # stable slug, translated by the UI
    autologous: bool | None
    source: str = "ISBT 128 ST-001 §2.4.3, Table 7 [RT008]"


# Only the codes our facts sheet confirms; a site may extend the table from its ICCBBA copy.
DEFAULT_COLLECTION_TYPES: Mapping[str, CollectionType] = MappingProxyType(
    {
        c.code: c
        for c in (
            CollectionType(code="0", meaning="not_specified", autologous=None),
            CollectionType(code="1", meaning="autologous_only", autologous=True),
            CollectionType(code="A", meaning="autologous_crossover_eligible", autologous=True),
            CollectionType(code="X", meaning="autologous_only_biohazard", autologous=True),
            CollectionType(
                code="8", meaning="autologous_with_allogeneic_material", autologous=True
            ),
            CollectionType(code="V", meaning="volunteer_allogeneic", autologous=False),
            CollectionType(code="R", meaning="research_not_for_human_use", autologous=None),
        )
    }
)

CoiCheckInput = Literal["content", "without_prefix"]


@dataclass(frozen=True)
class Isbt128Config:
    """Per-site ISBT 128 data; `None` for a table means "not configured", so no lookup warnings.

    - facilities: FIN (5 characters) -> facility name, from the site's ICCBBA registration.
    - product_descriptions: PDC (5 characters, e.g. "S1295") -> description, from the PDC database.
    - timezone: zone in which the label's expiry time is written (the labelling facility's).
    - century_base: year of century digit 0 in `cyy` dates. ST-001 does not spell the arithmetic
      out; 2000 matches its worked example (`&>0183652359` is 2018-12-31 23:59).
    - coi_check_input: which characters of a Chain of Identity Identifier enter its check
      character. ST-028 defines this and we have not read it [U]: "content" uses all 15
      characters (CH + FIN + year + sequence), "without_prefix" drops the literal CH.
    - din_grouping: how the 13-character DIN is split into groups on eye-readable text (national).
    - accept_keyed_din: accept a DIN typed from a label (13 characters plus K) in a scan field.
    - strip_symbology_identifier: drop an AIM symbology identifier (e.g. "]C0") that a scanner may
      be set to prefix; ISBT 128 data never starts with "]".
    """

    facilities: Mapping[str, str] | None = None
    product_descriptions: Mapping[str, str] | None = None
    collection_types: Mapping[str, CollectionType] = field(
        default_factory=lambda: DEFAULT_COLLECTION_TYPES
    )
    timezone: str = "Asia/Tokyo"
    century_base: int = 2000
    coi_check_input: CoiCheckInput = "content"
    din_grouping: tuple[int, ...] = (5, 2, 6)
    accept_keyed_din: bool = True
    strip_symbology_identifier: bool = True

    def facility_name(self, facility_id: str) -> str | None:
        return None if self.facilities is None else self.facilities.get(facility_id)

    def product_description(self, pdc: str) -> str | None:
        return None if self.product_descriptions is None else self.product_descriptions.get(pdc)


DEFAULT_CONFIG = Isbt128Config()
