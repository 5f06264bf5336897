"""Labels: what the scanner reads must be what the label says, and mismatches never print."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import zxingcpp
from PIL import Image

from saisei.core.errors import ValidationFailed
from saisei.core.timezones import TOKYO
from saisei.processing.labels import (
    PatientIdentifiers,
    ProductLabel,
    Wristband,
    barcode_png,
    render_label_pdf,
    render_wristband_pdf,
)

# DIN A999921123456 has K = 3 (ST-001 Fig. 2, facts §1.2); 2026-12-31 is day 365.
LABEL = ProductLabel(
    din="A999921123456",
    check_character="3",
    din_data="=A99992112345600",
    product_code="S1234100",
    product_code_data="=<S1234100",
    division="00",
    expiry=datetime(2026, 12, 31, 23, 59, tzinfo=TOKYO),
    expiry_data="&>0263652359",
    product_description="MSC(AT) 2×10⁸ cells / 凍結保存",
    coi_text="CHA999926ABC123",
    coi_check_character="K",
    coi_data="&/CHA999926ABC123",
    patient=PatientIdentifiers(
        name="山田 太郎 (YAMADA Taro)", date_of_birth=date(1950, 4, 1), patient_id="P-000123"
    ),
)

EXPECTED_DATAMATRIX = "=+04000=A99992112345600=<S1234100&>0263652359&/CHA999926ABC123"


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} (poppler-utils) is not installed")


def _raster(pdf: bytes, tmp_path, *, dpi: int = 300) -> list[Image.Image]:
    _need("pdftoppm")
    source = tmp_path / "label.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", str(dpi), "-png", str(source), str(tmp_path / "page")], check=True
    )
    return [Image.open(path) for path in sorted(tmp_path.glob("page*.png"))]


def _text(pdf: bytes, tmp_path) -> str:
    _need("pdftotext")
    source = tmp_path / "text.pdf"
    source.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(source), "-"], check=True, capture_output=True, text=True
    ).stdout


def _decoded(image: Image.Image) -> dict[str, str]:
    return {r.text: r.format.name for r in zxingcpp.read_barcodes(image)}


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page[^s]", pdf))


def test_printed_label_scans_back_to_exactly_the_intended_structures(tmp_path):
    (page,) = _raster(render_label_pdf(label=LABEL), tmp_path)
    assert _decoded(page) == {
        "=A99992112345600": "Code128",
        "=<S1234100": "Code128",
        "&>0263652359": "Code128",
        EXPECTED_DATAMATRIX: "DataMatrix",
    }


def test_label_scaled_down_to_80_mm_still_scans(tmp_path):
    pdf = render_label_pdf(label=LABEL, size_mm=(80, 80), printer_dpi=300)
    (page,) = _raster(pdf, tmp_path, dpi=300)
    assert set(_decoded(page)) == {
        "=A99992112345600",
        "=<S1234100",
        "&>0263652359",
        EXPECTED_DATAMATRIX,
    }


def test_label_too_small_for_the_printer_resolution_is_refused_not_printed_unreadable():
    # At 203 dpi an 80 mm label would need one-dot bars, which scanners misread.
    with pytest.raises(ValidationFailed) as excinfo:
        render_label_pdf(label=LABEL, size_mm=(80, 80), printer_dpi=203)
    assert excinfo.value.code == "label.barcode_too_long"


def test_label_text_shows_din_expiry_with_zone_and_utc_and_the_autologous_statement(tmp_path):
    text = _text(render_label_pdf(label=LABEL), tmp_path)
    for expected in (
        "A9999 21 123456",
        "S1234100",
        "2026-12-31 23:59 JST",
        "(2026-12-31 14:59 UTC)",
        "FOR AUTOLOGOUS USE ONLY",
        "自己使用限定",
        "山田 太郎 (YAMADA Taro)",
        "1950-04-01",
        "P-000123",
        "CHA999926ABC123",
        "10^8",  # superscripts have no glyph in the font, so they are spelt out
    ):
        assert expected in text, expected


def test_only_the_configured_patient_identifiers_are_printed(tmp_path):
    text = _text(render_label_pdf(label=LABEL, patient_fields=("patient_id",)), tmp_path)
    assert "P-000123" in text
    assert "山田" not in text and "1950-04-01" not in text


def test_the_symbols_decode_on_their_own_without_a_pdf_rasteriser():
    for data, kind in [
        (LABEL.din_data, "code128"),
        (LABEL.product_code_data, "code128"),
        (LABEL.expiry_data, "code128"),
        (LABEL.datamatrix_data(), "datamatrix"),
    ]:
        image = Image.open(io.BytesIO(barcode_png(data=data, kind=kind)))
        assert list(_decoded(image)) == [data]
    assert LABEL.datamatrix_data() == EXPECTED_DATAMATRIX


def test_data_matrix_is_square_so_the_layout_is_predictable():
    image = Image.open(
        io.BytesIO(barcode_png(data=EXPECTED_DATAMATRIX, kind="datamatrix", scale=1))
    )
    assert image.width == image.height


def test_copies_print_one_label_per_page_and_output_is_reproducible():
    pdf = render_label_pdf(label=LABEL, copies=3)
    assert _pages(pdf) == 3
    assert pdf == render_label_pdf(label=LABEL, copies=3)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"din_data": "=A99992112345700"}, "din_data"),
        ({"product_code_data": "=<S1234200"}, "product_code_data"),
        ({"division": "A0"}, "division"),
        ({"expiry_data": "&>0263652358"}, "expiry_data"),
        ({"expiry": datetime(2026, 12, 31, 23, 59, tzinfo=ZoneInfo("UTC"))}, "expiry_data"),
        ({"expiry": datetime(2026, 12, 31, 23, 59)}, "expiry"),
        ({"check_character": "a"}, "check_character"),
        ({"din": "A99992112345"}, "din"),
        ({"coi_data": "&/CHA999926ABC124"}, "coi_data"),
        ({"coi_check_character": None}, "coi_check_character"),
        ({"extra_structures": ("not isbt",)}, "extra_structures[0]"),
    ],
)
def test_label_whose_text_and_barcode_disagree_is_refused(changes, field):
    with pytest.raises(ValidationFailed) as excinfo:
        render_label_pdf(label=replace(LABEL, **changes))
    assert excinfo.value.code == "label.invalid"
    assert field in excinfo.value.fields


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"copies": 0}, "copies"),
        ({"copies": 51}, "copies"),
        ({"size_mm": (50, 50)}, "size"),
        ({"printer_dpi": 150}, "printer_dpi"),
        ({"patient_fields": ("address",)}, "patient_fields"),
    ],
)
def test_unprintable_requests_are_refused(kwargs, field):
    with pytest.raises(ValidationFailed) as excinfo:
        render_label_pdf(label=LABEL, **kwargs)
    assert field in excinfo.value.fields


def test_flags_of_type_1_or_2_are_printed(tmp_path):
    label = replace(LABEL, din_data="=A99992112345601", flags_text="01")
    (page,) = _raster(render_label_pdf(label=label), tmp_path)
    assert "=A99992112345601" in _decoded(page)
    with_flags = _text(render_label_pdf(label=label), tmp_path).count("01")
    without = _text(render_label_pdf(label=replace(label, flags_text=None)), tmp_path).count("01")
    assert with_flags == without + 1


WRISTBAND = Wristband(
    barcode_data="P000123",
    patient_name="山田 太郎 (YAMADA Taro)",
    patient_id="P-000123",
    date_of_birth=date(1950, 4, 1),
    extra_lines=("Saisei Clinic",),
)


def test_wristband_carries_the_patient_barcode_twice_and_readable_identifiers(tmp_path):
    pdf = render_wristband_pdf(wristband=WRISTBAND)
    (page,) = _raster(pdf, tmp_path)
    assert {r.text for r in zxingcpp.read_barcodes(page)} == {"P000123"}
    assert {r.format.name for r in zxingcpp.read_barcodes(page)} == {"Code128", "DataMatrix"}
    text = _text(pdf, tmp_path)
    assert "山田 太郎" in text and "P-000123" in text and "1950-04-01" in text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"barcode_data": "P 000123"}, "barcode_data"),
        ({"patient_name": "  "}, "patient_name"),
        ({"patient_id": ""}, "patient_id"),
    ],
)
def test_wristband_without_identifiers_is_refused(changes, field):
    with pytest.raises(ValidationFailed) as excinfo:
        render_wristband_pdf(wristband=replace(WRISTBAND, **changes))
    assert excinfo.value.code == "wristband.invalid"
    assert field in excinfo.value.fields
