"""ISBT 128 keyboard-entry check character K: ISO/IEC 7064 MOD 37-2 (ST-001 Appendix A).

The arithmetic is python-stdnum's; this module adds the ISBT rule of what goes in (only the
identifier's data characters, never the data identifier or the DIN flags) and the Type 3 flag form.
"""

from __future__ import annotations

from stdnum.iso7064 import mod_37_2

# ST-001 Table 35 [RT035]: character values 0-36 in this order.
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
INPUT_ALPHABET = ALPHABET[:-1]  # '*' only ever appears as the result, never in identifiers

TYPE3_FLAG_BASE = 60  # ST-001 §2.4.1 Table 3: flag value = 60 + check value


def check_value(*, data: str) -> int:
    """The check value 0-36 for `data`; raises ValueError on a character outside 0-9/A-Z."""
    bad = [c for c in data if c not in INPUT_ALPHABET]
    if bad or not data:
        raise ValueError(f"MOD 37-2 input must be non-empty 0-9/A-Z, got {data!r}")
    return ALPHABET.index(mod_37_2.calc_check_digit(data))


def check_character(*, data: str) -> str:
    """The check character K printed in a box after the identifier's eye-readable text."""
    return ALPHABET[check_value(data=data)]


def is_valid_with_check(*, data: str, check: str) -> bool:
    """True when `check` is the right K for `data`; this is what catches a mistyped character."""
    if len(check) != 1 or check not in ALPHABET:
        return False
    try:
        return mod_37_2.is_valid(data + check)
    except ValueError:
        return False


def type3_flags(*, data: str) -> str:
    """The two flag digits that carry K inside a DIN bar code (Type 3 flags, 60-96)."""
    return f"{TYPE3_FLAG_BASE + check_value(data=data):02d}"
