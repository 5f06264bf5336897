"""Property tests: the check character catches every typo it is meant to, and build/parse agree."""

from __future__ import annotations

import datetime as dt
import json
import string
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from saisei.processing.isbt128 import (
    Din,
    Isbt128Config,
    build_coi,
    build_din,
    build_product_code,
    check_character,
    division_code,
    encode_datetime,
    expiration_barcode_data,
    parse_scan,
    type3_flags,
)

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
FIN_FIRST = "ABCDEFGHIJKLMNPQRSTUVWXYZ123456789"
FIN_SECOND = "ABCDEFGHIJKLMNPQRSTUVWXYZ0123456789"
# Anything a scanner or a keyboard could put in the field, including the data identifiers.
TYPO_CHARACTERS = string.ascii_letters + string.digits + string.punctuation + " "


def independent_k(data: str) -> str:
    """Weighted form of ISO/IEC 7064 MOD 37-2 (facts §1.2), written separately from stdnum's."""
    total = sum(ALPHABET.index(ch) * 2 ** (len(data) - i) for i, ch in enumerate(data))
    return ALPHABET[(38 - total % 37) % 37]


def independent_k_recursive(data: str) -> str:
    s = 0
    for ch in data:
        s = ((s + ALPHABET.index(ch)) * 2) % 37
    return ALPHABET[(38 - s) % 37]


fins = st.builds(
    lambda a, b, c: a + b + c,
    st.sampled_from(FIN_FIRST),
    st.text(FIN_SECOND, min_size=2, max_size=2),
    st.text(string.digits, min_size=2, max_size=2),
)
dins = st.builds(
    lambda fin, year, seq: Din(fin, f"{year:02d}", f"{seq:06d}"),
    fins,
    st.integers(0, 99),
    st.integers(0, 999_999),
)


def detected(data: str) -> bool:
    return not parse_scan(data).valid


@settings(max_examples=300)
@given(din=dins)
def test_check_character_agrees_with_independent_implementation(din):
    k = check_character(data=din.din)
    assert k == independent_k(din.din) == independent_k_recursive(din.din)
    assert type3_flags(data=din.din) == f"{60 + ALPHABET.index(k):02d}"


@settings(max_examples=200)
@given(data=st.text(ALPHABET[:-1], min_size=1, max_size=40))
def test_check_character_agrees_for_any_length(data):
    assert check_character(data=data) == independent_k(data)


@settings(max_examples=150)
@given(din=dins)
def test_built_din_round_trips_through_a_scan(din):
    built = build_din(
        facility_id=din.facility_id,
        year=int(din.year),
        sequence=int(din.sequence),
        check_flags=True,
    )
    result = parse_scan(built.barcode_data)
    assert result.valid
    assert result.structures[0].value == built
    assert result.structures[0].check_character == check_character(data=din.din)
    typed = parse_scan(" ".join(built.eye_readable().groups) + " " + built.check_character)
    assert typed.valid
    assert typed.structures[0].value == Din(din.facility_id, din.year, din.sequence)


@settings(max_examples=100, deadline=None)
@given(din=dins)
def test_every_single_character_error_in_a_scanned_din_is_detected(din):
    barcode = din.with_check_flags().barcode_data
    for position in range(14):  # "=" and the 13 DIN characters; flags are not part of the DIN
        for replacement in TYPO_CHARACTERS:
            if replacement != barcode[position]:
                mutated = barcode[:position] + replacement + barcode[position + 1 :]
                assert detected(mutated), mutated


@settings(max_examples=150)
@given(din=dins)
def test_every_adjacent_transposition_in_a_scanned_din_is_detected(din):
    barcode = din.with_check_flags().barcode_data
    for i in range(13):
        if barcode[i] != barcode[i + 1]:
            swapped = barcode[:i] + barcode[i + 1] + barcode[i] + barcode[i + 2 :]
            assert detected(swapped), swapped


@settings(max_examples=100, deadline=None)
@given(din=dins)
def test_every_single_character_error_in_a_typed_din_is_detected(din):
    typed = din.keyed_text
    for position in range(len(typed)):
        for replacement in TYPO_CHARACTERS:
            if replacement.upper() != typed[position]:
                mutated = typed[:position] + replacement + typed[position + 1 :]
                assert detected(mutated), mutated


@settings(max_examples=150)
@given(din=dins)
def test_every_adjacent_transposition_in_a_typed_din_including_k_is_detected(din):
    typed = din.keyed_text
    for i in range(len(typed) - 1):
        if typed[i] != typed[i + 1]:
            assert detected(typed[:i] + typed[i + 1] + typed[i] + typed[i + 2 :])


@settings(max_examples=100)
@given(
    moment=st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=dt.datetime(2999, 12, 31),
        timezones=st.just(dt.UTC),
    ),
    zone=st.sampled_from(["Asia/Tokyo", "UTC", "America/New_York", "Australia/Adelaide"]),
)
def test_expiry_round_trips_to_the_same_instant_to_the_minute(moment, zone):
    config = Isbt128Config(timezone=zone)
    local = moment.astimezone(ZoneInfo(zone))
    if local.year < 2000:
        return
    data = expiration_barcode_data(expires=moment, config=config)
    assert data == "&>" + encode_datetime(moment=moment, config=config)
    result = parse_scan(data, config=config)
    assert result.valid
    value = result.structures[0].value
    # Local times repeated at a DST change are read as the first occurrence. Compare instants in
    # UTC: PEP 495 makes an ambiguous local time unequal to every time in another zone.
    if local.fold == 0:
        assert value.astimezone(dt.UTC) == moment.replace(second=0, microsecond=0)
    assert result.structures[0].fields["utc"] == value.astimezone(dt.UTC).isoformat()


@settings(max_examples=100)
@given(
    pdc=st.builds(
        lambda rest: "S" + rest,
        st.text(string.ascii_uppercase + string.digits, min_size=4, max_size=4),
    ),
    collection_type=st.sampled_from("01A8XVR"),
    first=st.integers(0, 26),
    second=st.integers(0, 26),
)
def test_product_code_with_division_round_trips(pdc, collection_type, first, second):
    if first == 0:
        second = 0
    product = build_product_code(
        pdc=pdc, collection_type=collection_type, division=division_code(first=first, second=second)
    )
    result = parse_scan(product.barcode_data)
    assert result.valid
    assert result.structures[0].value == product
    levels = result.structures[0].fields["division_levels"]
    assert levels == [first, second]


@settings(max_examples=100)
@given(
    fin=fins,
    year=st.integers(0, 99),
    sequence=st.text(string.ascii_uppercase + string.digits, min_size=6, max_size=6),
)
def test_coi_round_trips(fin, year, sequence):
    coi = build_coi(facility_id=fin, year=year, sequence=sequence)
    result = parse_scan(coi.barcode_data)
    assert result.valid
    assert result.structures[0].value == coi
    assert result.structures[0].check_character == independent_k(coi.content)


@settings(max_examples=100)
@given(din=dins, order=st.permutations([0, 1, 2]))
def test_concatenated_structures_split_in_any_order(din, order):
    parts = [
        (din.with_check_flags().barcode_data, "din"),
        ("=<S00011A0", "product_code"),
        ("&>0301012359", "expiration"),
    ]
    chosen = [parts[i] for i in order]
    result = parse_scan("".join(p for p, _ in chosen))
    assert result.valid
    assert [s.type for s in result.structures] == [t for _, t in chosen]


@settings(max_examples=300)
@given(data=st.text(max_size=80) | st.text("=&<>*/,+%0123456789ABCSab ", max_size=60))
def test_parser_never_crashes_and_always_answers_the_api_shape(data):
    body = parse_scan(data).as_dict()
    assert json.loads(json.dumps(body)) == body
    assert isinstance(body["valid"], bool)
    for s in body["structures"]:
        assert set(s) == {"type", "fields", "check_character", "valid", "errors"}
        if not s["valid"]:
            assert any(e["severity"] == "error" for e in s["errors"])
