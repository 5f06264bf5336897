"""ISBT 128: worked examples from the facts sheet and the errors a scanning screen must show."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from saisei.core.timezones import TOKYO
from saisei.processing.isbt128 import (
    Din,
    Isbt128Config,
    Isbt128Error,
    build_coi,
    build_din,
    build_product_code,
    check_character,
    division_code,
    division_levels,
    expiration_barcode_data,
    expiry_text,
    interpret_flags,
    parse_din,
    parse_scan,
    type3_flags,
)

# facts/manufacturing.md §1.2 test vectors: (13-char DIN, K, Type-3 flags or None)
WORKED_EXAMPLES = [
    ("G123417654321", "A", "70"),  # ST-001 App. A worked example
    ("A999921123456", "3", "63"),  # ST-001 Fig. 2
    ("A999818123456", "N", None),  # ST-001 §7.5.1.1 print example
    ("W000009123456", "G", None),  # ST-001 §7.4.1 flag-printing example
    ("A999820123456", "E", None),  # ST-001 App. C label example
    ("G123489654321", "Y", "94"),  # python-stdnum docstring
    ("A999917123456", "9", "69"),
    ("Z549917123456", "P", "85"),
    ("G123498654321", "H", "77"),  # legacy Red Book example
]


def codes(structure: dict) -> list[str]:
    return [e["code"] for e in structure["errors"]]


def only(data: str, **kwargs) -> dict:
    result = parse_scan(data, **kwargs).as_dict()
    assert len(result["structures"]) == 1, result
    return result["structures"][0]


# --- check character ---------------------------------------------------------------------------


@pytest.mark.parametrize(("din", "k", "flags"), WORKED_EXAMPLES)
def test_check_character_matches_worked_examples(din, k, flags):
    assert check_character(data=din) == k
    if flags is not None:
        assert type3_flags(data=din) == flags


def test_spec_worked_example_barcode_with_check_flags_is_valid_and_off_by_one_is_not():
    assert only("=G12341765432170")["valid"] is True
    wrong = only("=G12341765432171")
    assert wrong["valid"] is False
    assert codes(wrong) == ["isbt128.bad_check_character"]
    assert wrong["check_character"] is None  # never show the right K for a misread DIN


def test_check_character_refuses_characters_outside_the_alphabet():
    with pytest.raises(ValueError):
        check_character(data="a99992112345")
    with pytest.raises(ValueError):
        check_character(data="")


# --- DIN -----------------------------------------------------------------------------------------


def test_build_din_from_parts_gives_barcode_data_and_printable_pieces():
    din = build_din(facility_id="A9999", year=2021, sequence=123456)
    assert din.din == "A999921123456"
    assert din.barcode_data == "=A99992112345600"
    readable = din.eye_readable()
    assert readable.groups == ("A9999", "21", "123456")
    assert readable.text == "A9999 21 123456"
    assert readable.check_character == "3"  # drawn in a box by the label renderer
    assert readable.flags is None  # 00 is not printed


def test_build_din_with_check_flags_carries_k_in_the_barcode_and_never_prints_it():
    din = build_din(facility_id="A9999", year=21, sequence=123456, check_flags=True)
    assert din.barcode_data == "=A99992112345663"
    assert din.flag_info.flag_type == 3
    assert din.eye_readable().flags is None


def test_type1_flags_are_printed_rotated_and_container_number_is_read():
    din = build_din(facility_id="W0000", year=9, sequence=123456, flags="16")
    assert din.flag_info.meaning == "container_of_set"
    assert din.flag_info.container == 6
    readable = din.eye_readable()
    assert readable.flags == "16"
    assert readable.flags_rotated is True


def test_national_grouping_is_configurable_and_must_cover_13_characters():
    din = Din("A9999", "21", "123456")
    assert din.eye_readable(grouping=(1, 4, 2, 6)).text == "A 9999 21 123456"
    with pytest.raises(ValueError):
        din.eye_readable(grouping=(5, 2, 5))


@pytest.mark.parametrize(
    ("facility_id", "bad_character"),
    [
        ("O9999", "O"),  # O is never a FIN's first character
        ("09999", "0"),  # nor is 0
        ("AO999", "O"),
        ("A99A9", "A"),  # FIN characters 4-5 are digits
        ("a9999", "a"),
    ],
)
def test_facility_id_rules_are_enforced(facility_id, bad_character):
    for check_flags in (False, True):
        with pytest.raises(Isbt128Error) as err:
            build_din(facility_id=facility_id, year=26, sequence=1, check_flags=check_flags)
        assert err.value.code == "isbt128.bad_character"
        assert repr(bad_character) in err.value.issues[0].message()


def test_build_din_reports_bad_flag_characters_as_such():
    with pytest.raises(Isbt128Error) as err:
        build_din(facility_id="A9999", year=26, sequence=1, flags="IZ")
    assert err.value.code == "isbt128.bad_character"


def test_alphabetic_fin_characters_allowed_by_the_rule_are_accepted():
    assert build_din(facility_id="ZA199", year=26, sequence=1).din == "ZA19926000001"


def test_build_din_refuses_out_of_range_sequence_and_reserved_or_fake_check_flags():
    with pytest.raises(Isbt128Error) as err:
        build_din(facility_id="A9999", year=26, sequence=1_000_000)
    assert err.value.code == "isbt128.out_of_range"
    with pytest.raises(Isbt128Error) as err:
        build_din(facility_id="A9999", year=26, sequence=1, flags="98")
    assert err.value.code == "isbt128.reserved_flag"
    with pytest.raises(Isbt128Error) as err:
        build_din(facility_id="A9999", year=21, sequence=123456, flags="64")
    assert err.value.code == "isbt128.bad_check_character"
    assert build_din(facility_id="A9999", year=21, sequence=123456, flags="63").flags == "63"


@pytest.mark.parametrize(
    ("flags", "flag_type", "meaning", "container"),
    [
        ("00", 1, "not_used", None),
        ("01", 1, "container_of_set", 1),
        ("04", 1, "container_of_set", 4),
        ("15", 1, "container_of_set", 5),
        ("19", 1, "container_of_set", 9),
        ("06", 1, "pilot_tube", None),
        ("14", None, "reserved", None),
        ("20", 2, "local", None),
        ("59", 2, "local", None),
        ("60", 3, "check_character", None),
        ("96", 3, "check_character", None),
        ("97", None, "reserved", None),
        ("A1", None, "reserved", None),
    ],
)
def test_flag_table(flags, flag_type, meaning, container):
    info = interpret_flags(flags=flags)
    assert (info.flag_type, info.meaning, info.container) == (flag_type, meaning, container)


def test_parse_din_accepts_barcode_bare_and_typed_forms():
    expected = Din("A9999", "21", "123456")
    assert parse_din(text="=A99992112345600") == expected
    assert parse_din(text="A999921123456") == expected
    assert parse_din(text="a9999 21 123456 3") == expected
    with pytest.raises(Isbt128Error) as err:
        parse_din(text="A9999 21 123456 4")
    assert err.value.code == "isbt128.bad_check_character"
    assert only("A9999 21 123456 4")["check_character"] is None
    with pytest.raises(Isbt128Error) as err:
        parse_din(text="=A9999211234560")
    assert err.value.code == "isbt128.wrong_length"


def test_configured_facility_is_named_and_an_unknown_one_is_only_a_warning():
    config = Isbt128Config(facilities={"A9999": "Saisei CPC Tokyo"})
    known = only("=A99992112345663", config=config)
    assert known["fields"]["facility_name"] == "Saisei CPC Tokyo"
    assert known["errors"] == []
    unknown = only("=G12341765432170", config=config)
    assert unknown["valid"] is True
    assert unknown["errors"] == [
        {
            "code": "isbt128.unknown_facility",
            "message": "Facility G1234 is not in the configured facility list.",
            "severity": "warning",
        }
    ]
    # Without a configured table there is nothing to compare against, so no warning.
    assert only("=G12341765432170")["errors"] == []


# --- product code --------------------------------------------------------------------------------


def test_spec_product_code_example_reads_pdc_collection_type_and_division():
    s = only("=<S12954A0")
    assert s["valid"] is True
    fields = s["fields"]
    assert fields["product_description_code"] == "S1295"
    assert fields["product_family"] == "cellular_therapy"
    assert fields["collection_type"] == "4"
    assert fields["division"] == "A0"
    assert fields["division_levels"] == [1, 0]


def test_autologous_collection_type_is_recognised_for_msc_products():
    fields = only("=<S00011Ab")["fields"]
    assert fields["collection_type_meaning"] == "autologous_only"
    assert fields["autologous"] is True
    assert fields["division_levels"] == [1, 2]


def test_product_description_comes_from_configuration_and_unknown_codes_warn():
    config = Isbt128Config(product_descriptions={"S0001": "MSC(AT), cryopreserved"})
    assert only("=<S000110A0", config=config)["valid"] is False  # 9 chars: wrong length/trailing
    known = only("=<S00011A0", config=config)
    assert known["fields"]["description"] == "MSC(AT), cryopreserved"
    unknown = only("=<S99991A0", config=config)
    assert unknown["valid"] is True
    assert codes(unknown) == ["isbt128.unknown_product_code"]


def test_division_codes_for_doses_and_the_ds032_marker():
    assert division_code(first=0) == "00"
    assert division_code(first=1) == "A0"
    assert division_code(first=3, second=2) == "Cb"
    assert division_levels("Cb") == (3, 2)
    with pytest.raises(Isbt128Error):
        division_code(first=27)
    with pytest.raises(Isbt128Error):
        division_code(first=0, second=1)
    product = build_product_code(pdc="S0001", collection_type="1")
    assert product.barcode_data == "=<S0001100"
    assert product.with_division(division_code(first=2)).barcode_data == "=<S00011B0"
    with_ds032 = parse_scan("=<S0001199=,000001")
    assert with_ds032.valid
    assert with_ds032.structures[0].fields["divisions_in_ds032"] is True
    assert with_ds032.structures[1].fields == {"divisions": "000001"}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("=<S1295X0a", "isbt128.bad_division"),  # second level without a first
        ("=<S1295XaA", "isbt128.bad_character"),  # levels in the wrong case
        ("=<s12954A0", "isbt128.bad_character"),
        ("=<S1295", "isbt128.wrong_length"),
    ],
)
def test_product_code_errors(data, code):
    s = parse_scan(data).as_dict()["structures"][0]
    assert s["valid"] is False
    assert code in codes(s)


def test_build_product_code_refuses_what_a_scanner_would_reject():
    with pytest.raises(Isbt128Error) as err:
        build_product_code(pdc="S0001", collection_type="1", division="0a")
    assert err.value.code == "isbt128.bad_division"
    with pytest.raises(Isbt128Error) as err:
        build_product_code(pdc="S001", collection_type="1")
    assert err.value.code == "isbt128.wrong_length"


# --- expiration date and time (DS005) ------------------------------------------------------------


def test_spec_expiration_example_is_end_of_2018_local_time_with_utc():
    s = only("&>0183652359")
    assert s["type"] == "expiration"
    fields = s["fields"]
    assert (fields["date"], fields["time"]) == ("2018-12-31", "23:59")
    assert fields["local"] == "2018-12-31T23:59:00+09:00"
    assert fields["utc"] == "2018-12-31T14:59:00+00:00"
    value = parse_scan("&>0183652359").structures[0].value
    assert value == dt.datetime(2018, 12, 31, 23, 59, tzinfo=TOKYO)


def test_expiration_is_read_in_the_configured_zone():
    s = only("&>0183652359", config=Isbt128Config(timezone="Europe/London"))
    assert s["fields"]["utc"] == "2018-12-31T23:59:00+00:00"


def test_building_expiry_from_a_date_means_2359_local_and_datetimes_convert_to_local():
    assert expiration_barcode_data(expires=dt.date(2018, 12, 31)) == "&>0183652359"
    utc_moment = dt.datetime(2018, 12, 31, 14, 59, tzinfo=dt.UTC)
    assert expiration_barcode_data(expires=utc_moment) == "&>0183652359"
    with pytest.raises(ValueError):
        expiration_barcode_data(expires=dt.datetime(2018, 12, 31, 14, 59))


def test_expiry_text_prints_zone_and_utc_beneath():
    text = expiry_text(expires=dt.datetime(2026, 3, 1, 12, 0, tzinfo=TOKYO))
    assert text == {"local": "2026-03-01 12:00 JST", "utc": "(2026-03-01 03:00 UTC)"}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("&>0183662359", "isbt128.invalid_date"),  # 2018 has 365 days
        ("&>0180002359", "isbt128.invalid_date"),
        ("&>0183652400", "isbt128.invalid_time"),
        ("&>0183652360", "isbt128.invalid_time"),
        ("&>01836523A9", "isbt128.bad_character"),
        ("&>018365235", "isbt128.wrong_length"),
    ],
)
def test_expiration_errors(data, code):
    s = only(data)
    assert s["valid"] is False
    assert code in codes(s)


def test_leap_day_366_is_accepted_in_a_leap_year():
    assert only("&>0243662359")["fields"]["date"] == "2024-12-31"


# --- chain of identity (DS040) -------------------------------------------------------------------


def test_coi_build_and_parse_round_trip_with_check_character():
    coi = build_coi(facility_id="A9999", year=2026, sequence="AB12C3")
    assert coi.barcode_data == "&/CHA999926AB12C3"
    s = only(coi.barcode_data)
    assert s["type"] == "coi"
    assert s["valid"] is True
    assert s["fields"]["facility_id"] == "A9999"
    assert s["fields"]["sequence"] == "AB12C3"
    assert s["check_character"] == check_character(data="CHA999926AB12C3")
    assert build_coi(facility_id="A9999", year=26, sequence=42).sequence == "000042"


def test_coi_check_input_is_a_configured_choice_because_st028_is_unread():
    coi = build_coi(facility_id="A9999", year=26, sequence="AB12C3")
    without = Isbt128Config(coi_check_input="without_prefix")
    assert coi.check_character(config=without) == check_character(data="A999926AB12C3")
    assert only(coi.barcode_data, config=without)["check_character"] == check_character(
        data="A999926AB12C3"
    )


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("&/XHA999926AB12C3", "isbt128.bad_character"),
        ("&/CHO999926AB12C3", "isbt128.bad_character"),
        ("&/CHA999926ab12c3", "isbt128.bad_character"),
        ("&/CHA999926AB12C", "isbt128.wrong_length"),
    ],
)
def test_coi_errors(data, code):
    s = only(data)
    assert s["valid"] is False
    assert code in codes(s)


# --- scans: concatenation, compound messages, keyboard wedges -----------------------------------


def test_api_response_shape_is_exact_and_json_serialisable():
    body = parse_scan("=A99992112345663=<S00011A0").as_dict()
    assert set(body) == {"valid", "structures"}
    for structure in body["structures"]:
        assert set(structure) == {"type", "fields", "check_character", "valid", "errors"}
    assert json.loads(json.dumps(body)) == body
    assert [s["type"] for s in body["structures"]] == ["din", "product_code"]


def test_concatenated_product_code_and_expiry_are_split():
    result = parse_scan("=<S12954A0&>0183652359")
    assert result.valid
    assert [s.type for s in result.structures] == ["product_code", "expiration"]


def test_compound_message_from_facts_fixture_splits_into_announced_structures():
    data = (
        "=+05000=Z54991712345600=%T300=<T0416003&>0183652359"
        "&,4PL001499Z549917123456A00T041600320181231"
    )
    result = parse_scan(data)
    assert result.valid, result.as_dict()
    assert [s.type for s in result.structures] == [
        "compound_message",
        "din",
        "blood_groups",
        "product_code",
        "expiration",
        "sec",
    ]
    assert result.structures[3].as_dict()["fields"]["pack_code"] == "003"


def test_compound_message_with_missing_structure_is_refused():
    result = parse_scan("=+03000=Z54991712345600=<T0416003")
    assert not result.valid
    assert codes(result.as_dict()["structures"][0]) == ["isbt128.compound_count_mismatch"]


def test_national_structures_are_passed_through_but_not_inside_compound_messages():
    alone = only("&aXYZ123")
    assert alone["valid"] is True
    assert codes(alone) == ["isbt128.opaque_structure"]
    inside = parse_scan("=+01000&aXYZ").as_dict()["structures"]
    assert "isbt128.not_allowed_in_compound" in codes(inside[1])


@pytest.mark.parametrize(
    "wedge_input",
    [
        "=A99992112345663\r\n",
        "  =A99992112345663\t",
        "]C0=A99992112345663\n",
        "\n]d1=A99992112345663",
    ],
)
def test_keyboard_wedge_noise_around_the_data_is_tolerated(wedge_input):
    result = parse_scan(wedge_input)
    assert result.valid
    assert result.structures[0].value == Din("A9999", "21", "123456", "63")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ("", "isbt128.empty"),
        ("   \r\n", "isbt128.empty"),
        ("&Q12345", "isbt128.unknown_structure"),
        ("=~12345", "isbt128.unknown_structure"),
        ("0104912345678904", "isbt128.missing_data_identifier"),
        ("^A99992112345663", "isbt128.keyboard_layout_suspected"),
        ("'>0183652359", "isbt128.keyboard_layout_suspected"),
        ("=A9999211234566", "isbt128.wrong_length"),
        ("=A999921123456633", "isbt128.wrong_length"),
        ("=A99992112345664", "isbt128.bad_check_character"),
        ("=A9999211234O663", "isbt128.bad_character"),
        ("=A99992112345 63", "isbt128.bad_character"),
        ("=A99992112345 IZ", "isbt128.bad_character"),
        ("A9999 21 123456", "isbt128.wrong_length"),  # typed without K
    ],
)
def test_each_kind_of_bad_scan_has_its_own_error_code(data, code):
    body = parse_scan(data).as_dict()
    assert body["valid"] is False
    assert code in [c for s in body["structures"] for c in codes(s)]


def test_bad_character_error_names_the_position_in_the_scan():
    s = only("=A9999211234O663")
    assert s["errors"][0]["message"] == (
        "The character 'O' at position 13 is not allowed in the sequence number."
    )


def test_reserved_flags_are_a_warning_not_a_refusal():
    s = only("=A99992112345698")
    assert s["valid"] is True
    assert codes(s) == ["isbt128.reserved_flag"]


def test_truncated_structure_followed_by_another_is_reported_and_the_next_still_read():
    result = parse_scan("=A999921123456=<S12954A0")
    assert [s.type for s in result.structures] == ["din", "product_code"]
    assert codes(result.structures[0].as_dict()) == ["isbt128.wrong_length"]
    assert result.structures[1].valid


def test_typed_din_can_be_refused_by_configuration():
    s = only("A9999 21 123456 3", config=Isbt128Config(accept_keyed_din=False))
    assert codes(s) == ["isbt128.missing_data_identifier"]


def test_every_message_has_a_japanese_translation_with_the_same_placeholders():
    import ast
    import re
    from pathlib import Path

    from saisei.core.catalogues import translations

    JA = translations("processing", "ja")

    package = Path(__file__).resolve().parents[1] / "isbt128"
    msgids = {
        node.args[0].value
        for path in package.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "_"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    assert msgids - set(JA) == set()
    placeholder = re.compile(r"%\(\w+\)s")
    for msgid in msgids:
        assert sorted(placeholder.findall(msgid)) == sorted(placeholder.findall(JA[msgid])), msgid
