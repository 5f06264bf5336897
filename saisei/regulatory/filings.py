"""Official forms as filed: the items each form asks for, the missing-item check and the PDF.

Every app fills the forms about its own records in ``<app>/official_forms.py`` (``FORMS``,
collected by ``saisei.core.registry.official_forms``); this module renders any of them in the
layout of the ministry's forms: the form number top left, the date and the addressee, the title,
then a table of numbered items (項目 / 内容) and the annex tables (別表). Nothing is printed blank:
``services.filed_document_generate`` refuses while a required item is empty.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _

from saisei.core.errors import NotFound, ValidationFailed
from saisei.core.registry import FormContent, FormItem, OfficialForm, official_forms


def form_get(code: str) -> OfficialForm:
    form = official_forms().get(code)
    if form is None:
        raise NotFound(_("Unknown form."))
    return form


def form_preview(
    *, actor: Any, form_code: str, subject_id: str, params: dict[str, Any] | None = None
) -> FormContent:
    """The form filled from the records, in Japanese (the forms' language), without storing it."""
    form = form_get(form_code)
    subject = form.resolve(actor, subject_id)
    with translation.override("ja"):
        return form.build(subject, dict(params or {}))


def missing_error(content: FormContent) -> ValidationFailed:
    """The 422 naming every empty required item and where to fill it."""
    missing = content.missing()
    return ValidationFailed(
        "form_items_missing",
        _("%(n)d required item(s) of the form are empty; fill them before generating.")
        % {"n": len(missing)},
        {f"item_{item.number}": [item.label, item.fix_url] for item in missing},
    )


def yen(value: int | None) -> str:
    return f"{value:,}円" if value is not None else ""


def jdate(value: dt.date | None) -> str:
    """A date as the forms print it (西暦 with 年月日)."""
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


AUTHORISATION_JA = {"notified": "届出", "licensed": "許可", "accredited": "認定"}


def facility_number(facility: Any, day: dt.date) -> str:
    """The facility number with the licence, notification or accreditation in force on ``day``
    (from the licence register); empty, and so flagged as missing, when none is in force."""
    record = facility.authorisation_on(day)
    if record is None or not facility.facility_number:
        return ""
    return f"{facility.facility_number}（{AUTHORISATION_JA.get(record.kind, '')} {record.number}）"


def item(
    number: str,
    label: str,
    value: Any,
    *,
    required: bool = True,
    fix: str = "",
    empty: str = "該当なし",
) -> FormItem:
    text = "" if value is None else str(value)
    return FormItem(
        number=number, label=label, value=text, required=required, fix_url=fix, empty=empty
    )


def render_pdf(
    *, content: FormContent, form_name: str, version: str, source: str, on: dt.date
) -> bytes:
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    from saisei.core.pdf import build_a4_pdf, data_table, escape, paragraph_styles

    styles = paragraph_styles()
    right = ParagraphStyle("right", parent=styles["body"], alignment=TA_RIGHT)
    centre = ParagraphStyle("centre", parent=styles["title"], alignment=TA_CENTER)
    form_number = form_name.split(" ", 1)[0]
    story: list[Any] = [
        Paragraph(escape(form_number), styles["body"]),
        Paragraph(escape(jdate(on)), right),
        Spacer(1, 2 * mm),
        Paragraph(escape(content.addressee), styles["body"]),
        Spacer(1, 3 * mm),
        Paragraph(escape(content.title), centre),
        Spacer(1, 2 * mm),
    ]
    rows: list[list[Any]] = [["", "項目", "内容"]]
    rows += [[it.number, it.label, it.value or it.empty] for it in content.items]
    story.append(data_table(rows=rows, col_widths=[12 * mm, 55 * mm, 107 * mm]))
    for table in content.tables:
        story.append(Paragraph(escape(table.title), styles["heading"]))
        width = 174 / max(1, len(table.columns))
        body = [list(table.columns)] + (
            table.rows or [["該当なし"] + [""] * (len(table.columns) - 1)]
        )
        story.append(data_table(rows=body, col_widths=[width * mm] * len(table.columns)))
    story += [
        Spacer(1, 4 * mm),
        Paragraph(escape(f"{form_name}（{version}）"), styles["small"]),
        Paragraph(escape(source), styles["small"]),
    ]
    return build_a4_pdf(
        story=story,
        title=content.title,
        header_left=form_number,
        header_right=content.subject_label,
        footer_left=f"Saisei · {form_number} {version}",
    )
