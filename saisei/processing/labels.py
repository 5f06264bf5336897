"""Product labels and patient wristbands as PDF, with bar codes a scanner can verify.

A product label follows the usual ISBT 128 quadrant layout (ST-001 §7, ST-004): DIN top
left, product code bottom left, expiry bottom right, and a Data Matrix carrying the same
structures as a compound message (DS023). The ISBT 128 strings come ready-formatted from
``saisei.processing.isbt128``; this module draws them and refuses a label whose printed text and
bar-code data disagree, because such a label would break the chain of identity.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import zxingcpp
from django.utils.translation import gettext_lazy as _
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from saisei.core.errors import ValidationFailed
from saisei.core.pdf import JAPANESE_FONT, MONO_FONT_BOLD, register_fonts

DEFAULT_TZ = "Asia/Tokyo"
LABEL_100 = (100.0, 100.0)  # final CT label, 100 × 100 mm in quadrants (ST-001 §7)
WRISTBAND = (250.0, 25.0)
MAX_COPIES = 50
_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")


@dataclass(frozen=True)
class UseStatement:
    """The intended-use statement printed beside the patient identifiers, in English and Japanese."""

    en: str
    ja: str


# One statement per ISBT 128 collection type (ST-001 Table 7 [RT008]) the programme labels; the
# code comes from the plan's cell source (processing.rules.COLLECTION_TYPE_BY_CELL_SOURCE). A code
# without a statement is refused, so a label never claims the wrong kind of use. The autologous
# wording follows 21 CFR 1271.90(c) [U: verify] and the Japanese wording the programme requested.
DEFAULT_USE_STATEMENTS: Mapping[str, UseStatement] = MappingProxyType(
    {
        "1": UseStatement("FOR AUTOLOGOUS USE ONLY", "自己使用限定"),
        "V": UseStatement("ALLOGENEIC DONOR CELLS", "同種（他家）細胞"),
    }
)


@dataclass(frozen=True)
class LabelWording:
    """Fixed label text in English and Japanese.

    Label wording is controlled content (FACT-JACIE label version control), so it is configured
    and versioned with the label template rather than taken from a translation catalogue that
    could change it silently.
    """

    use_statements: Mapping[str, UseStatement] = field(
        default_factory=lambda: DEFAULT_USE_STATEMENTS
    )
    din_caption: str = "DIN / 製造番号"
    product_caption: str = "PRODUCT / 製品コード"
    division_caption: str = "Division"
    expiry_caption: str = "EXPIRES / 使用期限"
    patient_name: str = "Name / 氏名"
    date_of_birth: str = "DOB / 生年月日"
    patient_id: str = "Patient ID / 患者ID"
    coi_caption: str = "CoI"


@dataclass(frozen=True)
class PatientIdentifiers:
    """Identifiers that may be printed; which ones appear is configured per programme."""

    name: str = ""
    date_of_birth: date | None = None
    patient_id: str = ""


PATIENT_FIELDS = ("name", "date_of_birth", "patient_id")


@dataclass(frozen=True)
class ProductLabel:
    """Everything printed on one product label; the ISBT 128 strings are already formatted.

    ``din_data`` is DS001 (``=`` + 13-char DIN + flags), ``product_code_data`` DS003 (``=<`` +
    product code), ``expiry_data`` DS005 (``&>cyyjjjhhmm``). ``flags_text`` is given only for
    Type 1/2 flags, which are printed rotated; Type 3 flags are never printed (ST-001 §7.4.1).
    """

    din: str
    check_character: str
    din_data: str
    product_code: str
    product_code_data: str
    division: str
    expiry: datetime
    expiry_data: str
    flags_text: str | None = None
    product_description: str = ""
    coi_text: str | None = None
    coi_check_character: str | None = None
    coi_data: str | None = None
    extra_structures: tuple[str, ...] = ()
    patient: PatientIdentifiers | None = None
    din_grouping: tuple[int, ...] = (5, 2, 6)

    def din_text(self) -> str:
        """The 13 DIN characters grouped as the national convention prints them, e.g. A9999 21 123456."""
        groups, start = [], 0
        for size in self.din_grouping:
            groups.append(self.din[start : start + size])
            start += size
        return " ".join(groups)

    @property
    def collection_type(self) -> str | None:
        """The collection type of a cellular-therapy product code (`t`, its sixth character)."""
        from saisei.processing.isbt128.config import DEFAULT_CONFIG
        from saisei.processing.isbt128.product import decode_product_code

        decoded = decode_product_code(self.product_code, offset=0, config=DEFAULT_CONFIG)
        value = decoded.fields.get("collection_type")
        return value if isinstance(value, str) else None

    def structures(self) -> list[str]:
        """The data structures the Data Matrix carries, in label order."""
        items = [self.din_data, self.product_code_data, self.expiry_data]
        if self.coi_data:
            items.append(self.coi_data)
        items.extend(self.extra_structures)
        return items

    def datamatrix_data(self) -> str:
        """A DS023 compound message: =+, the number of structures, 000 (order unspecified), then them."""
        items = self.structures()
        return f"=+{len(items):02d}000" + "".join(items)


def _label_errors(label: ProductLabel, tz: ZoneInfo, wording: LabelWording) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    if label.collection_type not in wording.use_statements:
        errors["collection_type"] = _(
            "No intended-use statement is set for this product's collection type, so the label "
            "cannot say who the cells are for."
        )
    if not re.fullmatch(r"[A-Z0-9]{13}", label.din):
        errors["din"] = _("The DIN must be 13 characters (letters and digits).")
    if len(label.check_character) != 1 or not re.fullmatch(r"[0-9A-Z*]", label.check_character):
        errors["check_character"] = _("The check character must be one of 0-9, A-Z or *.")
    if sum(label.din_grouping) != 13 or any(g <= 0 for g in label.din_grouping):
        errors["din_grouping"] = _("The DIN grouping must split 13 characters.")
    for name in ("din_data", "product_code_data", "expiry_data", "coi_data"):
        value = getattr(label, name)
        if value is None:
            continue
        if not _PRINTABLE.match(value) or value[0] not in "=&":
            errors[name] = _("Bar-code data must be an ISBT 128 structure starting with = or &.")
    for index, value in enumerate(label.extra_structures):
        if not _PRINTABLE.match(value) or value[0] not in "=&":
            errors[f"extra_structures[{index}]"] = _(
                "Bar-code data must be an ISBT 128 structure starting with = or &."
            )
    if errors:
        return errors
    # Text and bar code must say the same thing (chain of identity).
    if label.din_data[1:14] != label.din or len(label.din_data) != 16:
        errors["din_data"] = _("The DIN bar code does not carry the printed DIN.")
    if label.product_code_data != "=<" + label.product_code:
        errors["product_code_data"] = _(
            "The product-code bar code does not carry the printed product code."
        )
    elif not label.product_code.endswith(label.division) or len(label.division) != 2:
        errors["division"] = _("The printed division is not the one in the product code.")
    if label.expiry.tzinfo is None:
        errors["expiry"] = _("The expiry must carry a time zone.")
    else:
        local = label.expiry.astimezone(tz)
        expected = f"{local:%y}{local.timetuple().tm_yday:03d}{local:%H%M}"
        # DS005 is &> + century digit + yyjjjhhmm; the century digit is the encoder's business.
        if not label.expiry_data.startswith("&>") or label.expiry_data[3:] != expected:
            errors["expiry_data"] = _("The expiry bar code does not carry the printed expiry time.")
    if label.coi_text and not label.coi_data:
        errors["coi_data"] = _("A printed CoI identifier needs its bar-code data too.")
    elif label.coi_text and label.coi_data and label.coi_data[2:] != label.coi_text:
        errors["coi_data"] = _("The CoI bar code does not carry the printed CoI identifier.")
    if label.coi_text and not (
        label.coi_check_character and re.fullmatch(r"[0-9A-Z*]", label.coi_check_character)
    ):
        errors["coi_check_character"] = _("A printed CoI identifier needs its check character.")
    return errors


# --- Bar-code drawing --------------------------------------------------------------------------


def _modules(data: str, fmt: zxingcpp.BarcodeFormat) -> np.ndarray:
    """The symbol as a boolean module matrix (True = dark), one element per module."""
    # Square Data Matrix symbols keep the layout predictable (zxing-cpp otherwise may pick a
    # rectangular one); the option is ignored for linear symbols.
    options = {"force_square": True} if fmt == zxingcpp.BarcodeFormat.DataMatrix else {}
    symbol = zxingcpp.create_barcode(data, fmt, **options)
    image = np.array(symbol.to_image(scale=1, add_quiet_zones=False))
    return image < 128


def barcode_png(*, data: str, kind: str = "code128", scale: int = 4) -> bytes:
    """A PNG of one symbol (with quiet zone), for on-screen previews and for tests that decode it."""
    from PIL import Image

    formats = {
        "code128": zxingcpp.BarcodeFormat.Code128,
        "datamatrix": zxingcpp.BarcodeFormat.DataMatrix,
    }
    if kind not in formats or not data or not _PRINTABLE.match(data) or not 1 <= scale <= 20:
        raise ValidationFailed(
            "label.invalid_barcode",
            _("Cannot draw this bar code."),
            fields={"data": _("Use printable ASCII and a known symbol type.")},
        )
    dark = _modules(data, formats[kind])
    quiet = 10 if kind == "code128" else 2
    padded = np.pad(dark, ((quiet, quiet), (quiet, quiet)), constant_values=False)
    pixels = np.where(padded, 0, 255).astype(np.uint8).repeat(scale, axis=0).repeat(scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _dot(dpi: int) -> float:
    return 25.4 / dpi * mm


def _draw_code128(
    canvas: Canvas,
    *,
    data: str,
    x: float,
    y: float,
    max_width: float,
    height: float,
    dpi: int,
    max_module: float = 0.34 * mm,
) -> float:
    """Draw Code 128 as vector bars with a module a whole number of printer dots; return its width.

    Vector bars stay sharp on any printer; the quiet zone (10 modules each side) is kept clear.
    """
    row = _modules(data, zxingcpp.BarcodeFormat.Code128)[0]
    count = len(row)
    dot = _dot(dpi)
    dots = int(min(max_module, max_width / (count + 20)) / dot)
    if dots < 2:
        raise ValidationFailed(
            "label.barcode_too_long",
            _("The bar code %(data)s does not fit on this label size.") % {"data": data},
            fields={"size": _("Choose a larger label.")},
        )
    module = dots * dot
    start = x + 10 * module
    canvas.saveState()
    canvas.setFillColor(colors.black)
    run_start: int | None = None
    for index, dark in enumerate([*row.tolist(), False]):
        if dark and run_start is None:
            run_start = index
        elif not dark and run_start is not None:
            canvas.rect(
                start + run_start * module,
                y,
                (index - run_start) * module,
                height,
                stroke=0,
                fill=1,
            )
            run_start = None
    canvas.restoreState()
    return (count + 20) * module


def _draw_datamatrix(
    canvas: Canvas, *, data: str, x: float, y: float, size: float, dpi: int
) -> float:
    """Draw a Data Matrix in a square of at most ``size``; return the side actually used."""
    matrix = _modules(data, zxingcpp.BarcodeFormat.DataMatrix)
    rows, cols = matrix.shape
    dot = _dot(dpi)
    dots = int(size / max(rows, cols) / dot)
    if dots < 2:
        raise ValidationFailed(
            "label.barcode_too_long",
            _("The Data Matrix does not fit on this label size."),
            fields={"size": _("Choose a larger label.")},
        )
    module = dots * dot
    top = y + rows * module
    canvas.saveState()
    canvas.setFillColor(colors.black)
    for r in range(rows):
        c = 0
        while c < cols:
            if matrix[r, c]:
                end = c
                while end < cols and matrix[r, end]:
                    end += 1
                canvas.rect(
                    x + c * module,
                    top - (r + 1) * module,
                    (end - c) * module,
                    module,
                    stroke=0,
                    fill=1,
                )
                c = end
            else:
                c += 1
    canvas.restoreState()
    return max(rows, cols) * module


# --- Text helpers ------------------------------------------------------------------------------


_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


def _printable_text(text: str) -> str:
    """Superscript exponents (10⁸) have no glyph in IPAex Gothic; print them as 10^8 instead of boxes."""
    return re.sub(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+", lambda m: "^" + m.group(0).translate(_SUPERSCRIPTS), text)


def _fit_text(
    canvas: Canvas, text: str, *, x: float, y: float, font: str, size: float, max_width: float
) -> None:
    """Draw one line, shrinking the font so long names never run into the next quadrant."""
    text = _printable_text(text)
    while size > 4 and stringWidth(text, font, size) > max_width:
        size -= 0.25
    canvas.setFont(font, size)
    canvas.drawString(x, y, text)


def _boxed(canvas: Canvas, text: str, check: str, *, x: float, y: float, size: float) -> float:
    """Identifier text followed by its check character in a box (ST-001 §7.5); return the box's right edge."""
    canvas.setFont(MONO_FONT_BOLD, size)
    canvas.drawString(x, y, text)
    char_w = stringWidth("W", MONO_FONT_BOLD, size)
    box_x = x + stringWidth(text, MONO_FONT_BOLD, size) + size * 0.3
    canvas.drawString(box_x + size * 0.15, y, check)
    canvas.setLineWidth(size * 0.05)
    box_w = char_w + size * 0.3
    canvas.rect(box_x, y - size * 0.25, box_w, size * 1.0, stroke=1, fill=0)
    return box_x + box_w


def _boxed_din(canvas: Canvas, label: ProductLabel, *, x: float, y: float) -> None:
    """DIN text with K in a box and, for Type 1/2 flags, the flags rotated 90° clockwise."""
    size = 11.5
    right = _boxed(canvas, label.din_text(), label.check_character, x=x, y=y, size=size)
    if label.flags_text:
        canvas.saveState()
        canvas.translate(right + 1.0 * mm, y + size * 0.75)
        canvas.rotate(-90)
        canvas.setFont(MONO_FONT_BOLD, 6.5)
        canvas.drawString(0, 0, label.flags_text)
        canvas.restoreState()


def _caption(canvas: Canvas, text: str, *, x: float, y: float) -> None:
    canvas.setFillColor(colors.Color(0.25, 0.25, 0.25))
    canvas.setFont(JAPANESE_FONT, 6.5)
    canvas.drawString(x, y, text)
    canvas.setFillColor(colors.black)


def _patient_lines(
    patient: PatientIdentifiers | None, fields: Sequence[str], wording: LabelWording
) -> list[tuple[str, str]]:
    if patient is None:
        return []
    lines = []
    for name in fields:
        if name == "name" and patient.name:
            lines.append((wording.patient_name, patient.name))
        elif name == "date_of_birth" and patient.date_of_birth:
            lines.append((wording.date_of_birth, patient.date_of_birth.isoformat()))
        elif name == "patient_id" and patient.patient_id:
            lines.append((wording.patient_id, patient.patient_id))
    return lines


# --- Product label -----------------------------------------------------------------------------


def _draw_product_label(
    canvas: Canvas,
    label: ProductLabel,
    *,
    wording: LabelWording,
    patient_fields: Sequence[str],
    tz: ZoneInfo,
    dpi: int,
    scale: float,
) -> None:
    """Draw one label in a 100 × 100 mm design space (scaled to the stock)."""
    u = mm  # design unit
    bar_dpi = max(1, round(dpi * scale))  # module snapping happens in design space
    canvas.setStrokeColor(colors.Color(0.6, 0.6, 0.6))
    canvas.setLineWidth(0.3)
    canvas.line(50 * u, 3 * u, 50 * u, 97 * u)
    canvas.line(3 * u, 50 * u, 97 * u, 50 * u)
    canvas.setStrokeColor(colors.black)

    _draw_din_quadrant(canvas, label, wording=wording, bar_dpi=bar_dpi)
    _draw_use_quadrant(canvas, label, wording=wording, patient_fields=patient_fields)
    _draw_product_quadrant(canvas, label, wording=wording, bar_dpi=bar_dpi)
    _draw_expiry_quadrant(canvas, label, wording=wording, tz=tz, bar_dpi=bar_dpi)


def _draw_din_quadrant(
    canvas: Canvas, label: ProductLabel, *, wording: LabelWording, bar_dpi: int
) -> None:
    """Top left: the DIN bar code, the boxed DIN and the chain-of-identity identifier."""
    u = mm  # design unit
    _caption(canvas, wording.din_caption, x=3 * u, y=94 * u)
    _draw_code128(
        canvas, data=label.din_data, x=1 * u, y=72 * u, max_width=48 * u, height=19 * u, dpi=bar_dpi
    )
    _boxed_din(canvas, label, x=4 * u, y=63.5 * u)
    if label.coi_text and label.coi_check_character:
        _caption(canvas, wording.coi_caption, x=4 * u, y=56.5 * u)
        _boxed(canvas, label.coi_text, label.coi_check_character, x=4 * u, y=53 * u, size=8)


def _draw_use_quadrant(
    canvas: Canvas, label: ProductLabel, *, wording: LabelWording, patient_fields: Sequence[str]
) -> None:
    """Top right: the intended-use statement of the collection type, and patient identifiers."""
    u = mm  # design unit
    statement = wording.use_statements[label.collection_type or ""]
    canvas.setLineWidth(1.2)
    canvas.rect(53 * u, 78 * u, 44 * u, 18 * u, stroke=1, fill=0)
    _fit_text(
        canvas,
        statement.en,
        x=55 * u,
        y=89.5 * u,
        font=JAPANESE_FONT,
        size=10,
        max_width=40 * u,
    )
    _fit_text(
        canvas,
        statement.ja,
        x=55 * u,
        y=81 * u,
        font=JAPANESE_FONT,
        size=13,
        max_width=40 * u,
    )
    y = 72 * u
    for caption, value in _patient_lines(label.patient, patient_fields, wording):
        _caption(canvas, caption, x=54 * u, y=y)
        _fit_text(
            canvas, value, x=54 * u, y=y - 4.5 * u, font=JAPANESE_FONT, size=10, max_width=42 * u
        )
        y -= 8 * u


def _draw_product_quadrant(
    canvas: Canvas, label: ProductLabel, *, wording: LabelWording, bar_dpi: int
) -> None:
    """Bottom left: product code, division, description."""
    u = mm  # design unit
    _caption(canvas, wording.product_caption, x=3 * u, y=46 * u)
    _draw_code128(
        canvas,
        data=label.product_code_data,
        x=1 * u,
        y=29 * u,
        max_width=48 * u,
        height=15 * u,
        dpi=bar_dpi,
    )
    canvas.setFont(MONO_FONT_BOLD, 11)
    canvas.drawString(4 * u, 23.5 * u, label.product_code)
    _caption(canvas, f"{wording.division_caption}: {label.division}", x=4 * u, y=19 * u)
    if label.product_description:
        _fit_text(
            canvas,
            label.product_description,
            x=4 * u,
            y=13 * u,
            font=JAPANESE_FONT,
            size=9,
            max_width=44 * u,
        )


def _draw_expiry_quadrant(
    canvas: Canvas, label: ProductLabel, *, wording: LabelWording, tz: ZoneInfo, bar_dpi: int
) -> None:
    """Bottom right: expiry in local time with zone, UTC beneath, and the Data Matrix."""
    u = mm  # design unit
    local = label.expiry.astimezone(tz)
    utc = label.expiry.astimezone(UTC)
    _caption(canvas, wording.expiry_caption, x=53 * u, y=46 * u)
    _draw_code128(
        canvas,
        data=label.expiry_data,
        x=51 * u,
        y=29 * u,
        max_width=48 * u,
        height=15 * u,
        dpi=bar_dpi,
    )
    canvas.setFont(MONO_FONT_BOLD, 9.5)
    canvas.drawString(54 * u, 23.5 * u, f"{local:%Y-%m-%d %H:%M} {local.tzname()}")
    canvas.setFont(MONO_FONT_BOLD, 7)
    canvas.drawString(54 * u, 19.5 * u, f"({utc:%Y-%m-%d %H:%M} UTC)")
    _draw_datamatrix(
        canvas, data=label.datamatrix_data(), x=81 * u, y=2.5 * u, size=15 * u, dpi=bar_dpi
    )


def render_label_pdf(
    *,
    label: ProductLabel,
    copies: int = 1,
    size_mm: tuple[float, float] = LABEL_100,
    wording: LabelWording | None = None,
    patient_fields: Sequence[str] = PATIENT_FIELDS,
    timezone: str = DEFAULT_TZ,
    printer_dpi: int = 300,
) -> bytes:
    """Render ``copies`` identical product labels, one per page of the label stock size.

    Bar-code modules snap to whole printer dots at ``printer_dpi`` so thermal printers reproduce
    them exactly. Raises ValidationFailed when text and bar-code data disagree.
    """
    register_fonts()
    tz = ZoneInfo(timezone)
    wording = wording or LabelWording()
    errors = _label_errors(label, tz, wording)
    errors.update(
        _layout_errors(copies=copies, size_mm=size_mm, printer_dpi=printer_dpi, minimum=75.0)
    )
    unknown = set(patient_fields) - set(PATIENT_FIELDS)
    if unknown:
        errors["patient_fields"] = _("Unknown patient field: %(names)s.") % {
            "names": ", ".join(sorted(unknown))
        }
    if errors:
        raise ValidationFailed(
            "label.invalid", _("The label cannot be printed as requested."), fields=errors
        )
    width, height = size_mm[0] * mm, size_mm[1] * mm
    scale = min(size_mm) / 100.0
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height), invariant=1)
    canvas.setTitle(f"Label {label.din_text()}")
    canvas.setCreator("Saisei")
    for _copy in range(copies):
        canvas.saveState()
        canvas.translate((width - 100 * mm * scale) / 2, (height - 100 * mm * scale) / 2)
        canvas.scale(scale, scale)
        _draw_product_label(
            canvas,
            label,
            wording=wording,
            patient_fields=patient_fields,
            tz=tz,
            dpi=printer_dpi,
            scale=scale,
        )
        canvas.restoreState()
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _layout_errors(
    *, copies: int, size_mm: tuple[float, float], printer_dpi: int, minimum: float
) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    if isinstance(copies, bool) or not isinstance(copies, int) or not 1 <= copies <= MAX_COPIES:
        errors["copies"] = _("Print between 1 and %(max)d copies.") % {"max": MAX_COPIES}
    if len(size_mm) != 2 or min(size_mm) < minimum or max(size_mm) > 400:
        errors["size"] = _("The label must be at least %(min)s mm on its shorter side.") % {
            "min": int(minimum)
        }
    if printer_dpi not in (203, 300, 600):
        errors["printer_dpi"] = _("Printer resolution must be 203, 300 or 600 dpi.")
    return errors


# --- Wristband ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wristband:
    """A patient wristband: what bedside verification scans and what the nurse reads."""

    barcode_data: str
    patient_name: str
    patient_id: str
    date_of_birth: date | None = None
    extra_lines: tuple[str, ...] = field(default_factory=tuple)


def _check_wristband(
    wristband: Wristband, *, copies: int, size_mm: tuple[float, float], printer_dpi: int
) -> None:
    """Refuse a wristband without a printable bar code, name or ID, or that does not fit."""
    errors: dict[str, Any] = {}
    if not wristband.barcode_data or not _PRINTABLE.match(wristband.barcode_data):
        errors["barcode_data"] = _("The patient bar code must be printable ASCII without spaces.")
    if not wristband.patient_name.strip():
        errors["patient_name"] = _("Enter the patient's name.")
    if not wristband.patient_id.strip():
        errors["patient_id"] = _("Enter the patient ID.")
    if len(size_mm) == 2 and (size_mm[0] < 150 or size_mm[1] < 18):
        errors["size"] = _("A wristband must be at least 150 × 18 mm.")
    else:
        errors.update(
            _layout_errors(copies=copies, size_mm=size_mm, printer_dpi=printer_dpi, minimum=18.0)
        )
    if errors:
        raise ValidationFailed(
            "wristband.invalid", _("The wristband cannot be printed as requested."), fields=errors
        )


def render_wristband_pdf(
    *,
    wristband: Wristband,
    copies: int = 1,
    size_mm: tuple[float, float] = WRISTBAND,
    wording: LabelWording | None = None,
    printer_dpi: int = 300,
) -> bytes:
    """Render a wristband with the patient bar code as Code 128 and as Data Matrix.

    The Data Matrix reads even where the band curves round the wrist; the first 25 mm stay blank
    for the clasp.
    """
    register_fonts()
    wording = wording or LabelWording()
    _check_wristband(wristband, copies=copies, size_mm=size_mm, printer_dpi=printer_dpi)
    width, height = size_mm[0] * mm, size_mm[1] * mm
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height), invariant=1)
    canvas.setTitle(f"Wristband {wristband.patient_id}")
    canvas.setCreator("Saisei")
    band = height - 4 * mm
    for _copy in range(copies):
        x = 25 * mm
        top = height - 2 * mm
        _fit_text(
            canvas,
            wristband.patient_name,
            x=x,
            y=top - 5 * mm,
            font=JAPANESE_FONT,
            size=12,
            max_width=70 * mm,
        )
        details = [f"{wording.patient_id}: {wristband.patient_id}"]
        if wristband.date_of_birth:
            details.append(f"{wording.date_of_birth}: {wristband.date_of_birth.isoformat()}")
        _fit_text(
            canvas,
            "   ".join(details),
            x=x,
            y=top - 10.5 * mm,
            font=JAPANESE_FONT,
            size=7.5,
            max_width=70 * mm,
        )
        for index, line in enumerate(wristband.extra_lines[:2]):
            _fit_text(
                canvas,
                line,
                x=x,
                y=top - (15 + 4 * index) * mm,
                font=JAPANESE_FONT,
                size=7,
                max_width=70 * mm,
            )
        bar_width = _draw_code128(
            canvas,
            data=wristband.barcode_data,
            x=x + 72 * mm,
            y=2 * mm,
            max_width=min(80 * mm, width - x - 72 * mm - band - 6 * mm),
            height=band,
            dpi=printer_dpi,
        )
        _draw_datamatrix(
            canvas,
            data=wristband.barcode_data,
            x=x + 72 * mm + bar_width + 3 * mm,
            y=2 * mm,
            size=band,
            dpi=printer_dpi,
        )
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
