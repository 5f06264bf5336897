"""Numbers as people write them on pages, labels and PDFs (no ``1.000e+08``, no ``100000000.0``)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

# Below 10^6 a count is short enough to read in full (950,000 cells); above, the powers of ten
# are what a clinician compares, so 1.0 × 10⁸ rather than 100,000,000.
_SCIENTIFIC_FROM = 6


def power_of_ten(value: Any, *, empty: str = "—") -> str:
    """A large number in the written form ``2.35 × 10⁸``, a small one grouped (``9,500``).

    Nothing is rounded away: 149,999,999 reads "1.49999999 × 10⁸", never "1.5 × 10⁸", because a
    reader compares it with a limit. A large value is taken to the nearest whole number first
    (cells are counted whole), and a whole mantissa keeps one decimal, so 1e8 reads
    "1.0 × 10⁸". ``None`` and ``""`` read as ``empty``.
    """
    if value is None or value == "":
        return empty
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    if number == 0:
        return "0"
    exponent = number.copy_abs().adjusted()
    if exponent < _SCIENTIFIC_FROM:
        if number == number.to_integral_value():
            return f"{int(number):,}"
        return f"{number:,.2f}".rstrip("0").rstrip(".")
    mantissa = number.to_integral_value().scaleb(-exponent).normalize()
    text = f"{mantissa:f}"
    if "." not in text:
        text += ".0"
    return f"{text} × 10{str(exponent).translate(_SUPERSCRIPT)}"


def cells(value: Any, *, empty: str = "—") -> str:
    """A cell count as written on a label or a page: ``1.0 × 10⁸``."""
    return power_of_ten(value, empty=empty)
