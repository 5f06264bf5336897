"""Shared PDF helpers: fonts that render Japanese, paragraph styles and A4 documents.

ReportLab's built-in fonts have no Japanese glyphs, so every Saisei document registers the
IPAex Gothic font that the ``matplotlib-fontja`` wheel ships (no system fonts needed), and a
monospaced font that tells 0/O and 1/I apart for identifiers such as the DIN. Pass text through
``escape()`` before putting it in a Paragraph: it escapes markup and draws the few symbols IPAex
lacks (≤, ≥, superscripts) in DejaVu Sans.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from saisei.core.errors import DomainError

JAPANESE_FONT = "IPAexGothic"
MONO_FONT = "DejaVuSansMono"
MONO_FONT_BOLD = "DejaVuSansMono-Bold"
# IPAex Gothic lacks a few symbols QC documents need (≤, ≥, µ, superscript digits);
# paragraphs switch to DejaVu Sans for just those characters.
FALLBACK_FONT = "DejaVuSans"
# IPAex Gothic is a Japanese font: it lacks many simplified-Chinese ideographs (这, 进, 预 …) and all
# Hangul, which printed as empty boxes in a Chinese family's report. Those characters switch to
# ReportLab's built-in Adobe CJK fonts, which need no font file (docs/decisions/0033).
CJK_FALLBACK_FONT = "STSong-Light"
HANGUL_FALLBACK_FONT = "HYGothic-Medium"

_lock = threading.Lock()
_registered: dict[str, str] = {}


def japanese_font_path() -> Path:
    """Locate the IPAex Gothic TTF inside the matplotlib-fontja package."""
    import matplotlib_fontja

    return Path(matplotlib_fontja.__file__).resolve().parent / "fonts" / "ipaexg.ttf"


def _mono_font_paths() -> dict[str, Path]:
    import matplotlib

    base = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return {
        MONO_FONT: base / "DejaVuSansMono.ttf",
        MONO_FONT_BOLD: base / "DejaVuSansMono-Bold.ttf",
        FALLBACK_FONT: base / "DejaVuSans.ttf",
    }


def _register(name: str, path: Path) -> None:
    if name in _registered:
        return
    if not path.is_file():
        raise DomainError(
            "pdf.font_missing",
            _("The font file %(path)s needed for PDF documents is missing; reinstall Saisei.")
            % {"path": str(path)},
        )
    pdfmetrics.registerFont(TTFont(name, str(path)))
    # IPAex Gothic has no bold or italic face; map them to the regular face so that
    # <b>/<i> markup in paragraphs renders instead of raising.
    pdfmetrics.registerFontFamily(name, normal=name, bold=name, italic=name, boldItalic=name)
    _registered[name] = str(path)


def register_fonts() -> str:
    """Register the Japanese and monospaced fonts with ReportLab once; return the Japanese font name."""
    with _lock:
        _register(JAPANESE_FONT, japanese_font_path())
        for name, path in _mono_font_paths().items():
            _register(name, path)
        pdfmetrics.registerFontFamily(
            MONO_FONT,
            normal=MONO_FONT,
            bold=MONO_FONT_BOLD,
            italic=MONO_FONT,
            boldItalic=MONO_FONT_BOLD,
        )
    return JAPANESE_FONT


def _register_cid_fonts() -> None:
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    with _lock:
        for name in (CJK_FALLBACK_FONT, HANGUL_FALLBACK_FONT):
            if name not in _registered:
                pdfmetrics.registerFont(UnicodeCIDFont(name))
                _registered[name] = name


def fallback_font(char: str) -> str | None:
    """The font that draws a character IPAex Gothic lacks: Chinese or Korean CJK, else DejaVu."""
    code = ord(char)
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return HANGUL_FALLBACK_FONT
    if (
        0x3400 <= code <= 0x9FFF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x3FFFF
        or 0x3000 <= code <= 0x303F
        or 0xFF00 <= code <= 0xFFEF
    ):
        return CJK_FALLBACK_FONT
    return FALLBACK_FONT


def paragraph_styles(*, base_size: float = 10.0) -> dict[str, ParagraphStyle]:
    """Paragraph styles in the Japanese font; CJK word wrap lets Japanese lines break anywhere."""
    font = register_fonts()
    common: dict[str, Any] = {"fontName": font, "wordWrap": "CJK", "alignment": TA_LEFT}
    return {
        "body": ParagraphStyle("body", fontSize=base_size, leading=base_size * 1.5, **common),
        "small": ParagraphStyle(
            "small", fontSize=base_size * 0.8, leading=base_size * 1.2, **common
        ),
        "title": ParagraphStyle(
            "title",
            fontSize=base_size * 1.8,
            leading=base_size * 2.4,
            spaceAfter=base_size,
            **common,
        ),
        "heading": ParagraphStyle(
            "heading",
            fontSize=base_size * 1.3,
            leading=base_size * 1.9,
            spaceBefore=base_size * 0.8,
            spaceAfter=base_size * 0.4,
            **common,
        ),
        "table": ParagraphStyle(
            "table", fontSize=base_size * 0.9, leading=base_size * 1.25, **common
        ),
        "mono": ParagraphStyle(
            "mono",
            fontName=MONO_FONT,
            fontSize=base_size,
            leading=base_size * 1.4,
            alignment=TA_LEFT,
        ),
    }


def data_table(
    *,
    rows: Sequence[Sequence[Any]],
    col_widths: Sequence[float] | None = None,
    header: bool = True,
    base_size: float = 9.0,
) -> Table:
    """A gridded table whose string cells wrap as paragraphs, so long Japanese text stays inside."""
    style = paragraph_styles(base_size=base_size)["table"]
    cells = [
        [
            Paragraph(_escape(str(cell)), style)
            if isinstance(cell, str) or _is_lazy(cell)
            else cell
            for cell in row
        ]
        for row in rows
    ]
    table = Table(cells, colWidths=col_widths, repeatRows=1 if header else 0)
    commands: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if header and rows:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)))
    table.setStyle(TableStyle(commands))
    return table


def _is_lazy(value: Any) -> bool:
    from django.utils.functional import Promise

    return isinstance(value, Promise)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def has_glyph(char: str, font_name: str = JAPANESE_FONT) -> bool:
    """Whether the registered font can draw the character (else a box would print)."""
    register_fonts()
    face = pdfmetrics.getFont(font_name).face
    return ord(char) in face.charToGlyph or char in "\n\t"


def _escape(text: str) -> str:
    """Escape for ReportLab's mini-markup and route characters IPAex lacks to a fallback font."""
    register_fonts()
    parts: list[str] = []
    run: list[str] = []
    current: str | None = None
    for char in text:
        font = None if has_glyph(char) else fallback_font(char)
        if font != current and run:
            parts.append(_wrap("".join(run), font=current))
            run = []
        current = font
        run.append(char)
    if run:
        parts.append(_wrap("".join(run), font=current))
    return "".join(parts)


def _wrap(chunk: str, *, font: str | None) -> str:
    escaped = _xml(chunk)
    if font is None:
        return escaped
    if font in (CJK_FALLBACK_FONT, HANGUL_FALLBACK_FONT):
        _register_cid_fonts()
    return f'<font name="{font}">{escaped}</font>'


def escape(text: Any) -> str:
    """Make text safe inside a Paragraph: markup characters escaped, missing glyphs (≤, ≥) drawable."""
    return _escape(str(text))


@dataclass(frozen=True)
class PageDecoration:
    """Text drawn on every page: a header line, a footer line and 'Page x of y'."""

    header_left: str = ""
    header_right: str = ""
    footer_left: str = ""
    page_numbers: bool = True


def _numbered_canvas_class(decoration: PageDecoration) -> type[Canvas]:
    """A canvas that defers drawing the header/footer until the page count is known."""

    class _DecoratedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._page_states: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._page_states.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._page_states)
            for state in self._page_states:
                self.__dict__.update(state)
                self._decorate(total)
                super().showPage()
            super().save()

        def _decorate(self, total: int) -> None:
            width, height = self._pagesize
            font = JAPANESE_FONT
            self.saveState()
            self.setFont(font, 8)
            self.setFillColor(colors.Color(0.3, 0.3, 0.3))
            self.setStrokeColor(colors.Color(0.6, 0.6, 0.6))
            self.setLineWidth(0.4)
            top = height - 12 * mm
            if decoration.header_left or decoration.header_right:
                self.drawString(18 * mm, top, decoration.header_left)
                self.drawRightString(width - 18 * mm, top, decoration.header_right)
                self.line(18 * mm, top - 2 * mm, width - 18 * mm, top - 2 * mm)
            bottom = 10 * mm
            self.line(18 * mm, bottom + 4 * mm, width - 18 * mm, bottom + 4 * mm)
            if decoration.footer_left:
                self.drawString(18 * mm, bottom, decoration.footer_left)
            if decoration.page_numbers:
                self.drawRightString(
                    width - 18 * mm,
                    bottom,
                    gettext("Page %(page)d of %(total)d")
                    % {"page": self._pageNumber, "total": total},
                )
            self.restoreState()

    return _DecoratedCanvas


def build_a4_pdf(
    *,
    story: Sequence[Flowable],
    title: str,
    header_left: str = "",
    header_right: str = "",
    footer_left: str = "",
    author: str = "Saisei",
    subject: str = "",
    page_numbers: bool = True,
    landscape_orientation: bool = False,
    reproducible: bool = True,
    on_page: Callable[[Canvas, Any], None] | None = None,
) -> bytes:
    """Render flowables as an A4 PDF with header/footer; reproducible output makes golden tests possible."""
    register_fonts()
    buffer = io.BytesIO()
    pagesize = landscape(A4) if landscape_orientation else A4
    doc = SimpleDocTemplate(
        buffer,
        pagesize=pagesize,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=str(title),
        author=str(author),
        subject=str(subject),
        creator="Saisei",
        invariant=1 if reproducible else 0,
        lang="ja",
    )
    decoration = PageDecoration(
        header_left=str(header_left),
        header_right=str(header_right),
        footer_left=str(footer_left),
        page_numbers=page_numbers,
    )

    def _noop(canvas: Canvas, document: Any) -> None:
        return None

    callback = on_page or _noop
    doc.build(
        list(story),
        onFirstPage=callback,
        onLaterPages=callback,
        canvasmaker=_numbered_canvas_class(decoration),
    )
    return buffer.getvalue()


def format_datetime_local(value: datetime, *, tz_name: str = "Asia/Tokyo") -> str:
    """ISO-like local time with the zone abbreviation, the form labels and reports print."""
    from zoneinfo import ZoneInfo

    if value.tzinfo is None:
        raise DomainError(
            "pdf.naive_datetime", _("Times printed on documents must carry a time zone.")
        )
    local = value.astimezone(ZoneInfo(tz_name))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
