"""The shared PDF helper renders Japanese text, numbers pages and is reproducible."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime

import pytest
from reportlab.platypus import PageBreak, Paragraph

from saisei.core import pdf
from saisei.core.errors import DomainError


def _pdftotext(data: bytes, tmp_path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    source = tmp_path / "doc.pdf"
    source.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(source), "-"], check=True, capture_output=True, text=True
    ).stdout


def _two_page_document() -> bytes:
    styles = pdf.paragraph_styles()
    story = [
        Paragraph("同意説明文書 / Consent information", styles["title"]),
        Paragraph("自己脂肪由来間葉系幹細胞の点滴投与について説明します。", styles["body"]),
        pdf.data_table(
            rows=[
                ["項目", "Value"],
                ["患者 ID", "P-0001 <A&B>"],
                ["エンドトキシン", "≤ 3.5 EU/mL, ≥ 70 %"],
            ]
        ),
        PageBreak(),
        Paragraph("Second page", styles["body"]),
    ]
    return pdf.build_a4_pdf(
        story=story,
        title="Consent",
        header_left="Saisei Clinic",
        header_right="説明文書 v1",
        footer_left="Confidential",
    )


def test_register_fonts_returns_a_japanese_font_name_and_is_idempotent():
    first = pdf.register_fonts()
    assert first == pdf.register_fonts() == pdf.JAPANESE_FONT
    assert pdf.japanese_font_path().is_file()


def test_japanese_text_survives_into_the_pdf(tmp_path):
    text = _pdftotext(_two_page_document(), tmp_path)
    assert "自己脂肪由来間葉系幹細胞" in text
    assert "説明文書 v1" in text
    # User data with markup characters is printed literally, not interpreted.
    assert "P-0001 <A&B>" in text


def test_symbols_missing_from_the_japanese_font_still_print(tmp_path):
    assert not pdf.has_glyph("≤")
    text = _pdftotext(_two_page_document(), tmp_path)
    assert "≤ 3.5 EU/mL, ≥ 70 %" in text


def test_every_page_says_which_page_of_how_many(tmp_path):
    text = _pdftotext(_two_page_document(), tmp_path)
    assert "Page 1 of 2" in text
    assert "Page 2 of 2" in text
    assert text.count("Saisei Clinic") == 2


def test_fonts_are_embedded_so_any_viewer_shows_japanese():
    data = _two_page_document()
    assert data.startswith(b"%PDF")
    assert b"FontFile2" in data


def test_same_content_gives_byte_identical_pdf_for_golden_files():
    assert _two_page_document() == _two_page_document()


def test_local_time_is_printed_with_its_zone_abbreviation():
    value = datetime(2026, 12, 31, 14, 59, tzinfo=UTC)
    assert pdf.format_datetime_local(value) == "2026-12-31 23:59 JST"


def test_naive_datetime_is_refused():
    with pytest.raises(DomainError) as excinfo:
        pdf.format_datetime_local(datetime(2026, 1, 1, 9, 0))
    assert excinfo.value.code == "pdf.naive_datetime"


def test_chinese_and_korean_characters_ipaex_lacks_use_a_cjk_font() -> None:
    """IPAex Gothic is Japanese: 这 and Hangul are drawn by ReportLab's Adobe CJK fonts, not boxes."""
    from saisei.core.pdf import CJK_FALLBACK_FONT, HANGUL_FALLBACK_FONT, escape, has_glyph

    assert not has_glyph("这")
    assert escape("本这") == f'本<font name="{CJK_FALLBACK_FONT}">这</font>'
    assert f'<font name="{HANGUL_FALLBACK_FONT}">환자</font>' in escape("환자")
    assert escape("≤ 5").startswith('<font name="DejaVuSans">≤</font>')
