"""Japanese (JA) and simplified Chinese (ZH) for the journey app's Django layer (lead merges into .po)."""

JA: dict[str, str] = {}
ZH: dict[str, str] = {}
