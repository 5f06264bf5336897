"""ISBT 128 for Saisei: pure functions to build, print and read cellular-therapy identifiers.

No database and no licensed ICCBBA tables here: facility and product tables come in through
`Isbt128Config`. Specification: ISBT 128 ST-001 (Technical Specification) and ST-028 (CoI).
"""

from .checkchar import check_character, check_value, is_valid_with_check, type3_flags
from .coi import CoiIdentifier, build_coi
from .config import DEFAULT_COLLECTION_TYPES, CollectionType, Isbt128Config
from .dates import (
    decode_datetime,
    encode_date,
    encode_datetime,
    expiration_barcode_data,
    expiry_text,
)
from .din import Din, DinEyeReadable, FlagInfo, build_din, interpret_flags, parse_din
from .errors import Isbt128Error, Issue
from .product import ProductCode, build_product_code, division_code, division_levels
from .scan import ScanResult, StructureResult, normalise, parse_scan

__all__ = [
    "DEFAULT_COLLECTION_TYPES",
    "CoiIdentifier",
    "CollectionType",
    "Din",
    "DinEyeReadable",
    "FlagInfo",
    "Isbt128Config",
    "Isbt128Error",
    "Issue",
    "ProductCode",
    "ScanResult",
    "StructureResult",
    "build_coi",
    "build_din",
    "build_product_code",
    "check_character",
    "check_value",
    "decode_datetime",
    "division_code",
    "division_levels",
    "encode_date",
    "encode_datetime",
    "expiration_barcode_data",
    "expiry_text",
    "interpret_flags",
    "is_valid_with_check",
    "normalise",
    "parse_din",
    "parse_scan",
    "type3_flags",
]
