"""Periodic report (定期報告, 別紙様式第3) assembly: data sections from every app, and the PDF draft.

Each app contributes its own section through core's registry: ``saisei/<app>/periodic_report.py``
defines ``SECTIONS: list[ReportSection]`` (``saisei.core.registry``). A section's ``build``
receives a ``ReportScope`` (plan and period) and returns rows of (label msgid, value), or None
when it has nothing to say. Labels are English msgids stored in the data snapshot, translated
when the document is rendered.

⚠ The facts sheet (§5) could not verify the report's contents; the sections below follow what
it believes: patients treated, administrations, adverse events by seriousness and outcome, and
processing deviations, plus an evaluation the committee reviews.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext_noop

from saisei.core.registry import ReportScope, ReportSection, periodic_report_sections
from saisei.regulatory.models import PeriodicReport, ProvisionPlan
from saisei.regulatory.rules.common import japanese


def sections() -> list[ReportSection]:
    """The sections every app contributes, in report order."""
    return periodic_report_sections()


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value


def assemble_data(*, plan: ProvisionPlan, start: dt.date, end: dt.date) -> dict[str, Any]:
    """The report's data snapshot: one entry per section, labels as English msgids."""
    scope = ReportScope(plan=plan, start=start, end=end)
    out = []
    for section in sections():
        rows = section.build(scope)
        out.append(
            {
                "key": section.key,
                "title": section.title,
                "available": rows is not None,
                "rows": [[label, _json_value(value)] for label, value in rows or []],
            }
        )
    return {
        "plan": str(plan.external_id),
        "plan_number": plan.plan_number,
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "sections": out,
    }


# --- rendering ---------------------------------------------------------------------------


def tr(msgid: str, lang: str) -> str:
    """A stored msgid in the document's language."""
    return japanese(msgid) if lang.startswith("ja") else msgid


def render_value(label: str, value: Any, lang: str) -> tuple[str, str]:
    """Labels with parameters (e.g. an outcome) carry the parameter and the count in a dict; a
    value with a name per language (a registry name, the risk class) carries them in "names"."""
    if isinstance(value, dict) and "names" in value:
        names = value["names"]
        return tr(label, lang), str(names.get(lang) or names.get("en") or "—")
    if isinstance(value, dict) and "count" in value:
        params = {k: v for k, v in value.items() if k != "count"}
        return tr(label, lang).format(**params), str(value["count"])
    if value is None or value == "":
        return tr(label, lang), "—"
    if isinstance(value, str):
        return tr(label, lang), tr(value, lang)
    return tr(label, lang), str(value)


def report_pdf(*, report: PeriodicReport, lang: str = "ja") -> bytes:
    """A review draft of the periodic report for the committee, in Japanese or English."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    from saisei.core.pdf import build_a4_pdf, data_table, escape, paragraph_styles

    styles = paragraph_styles()
    data = report.data or {}
    title = tr(gettext_noop("Periodic report (draft for committee review)"), lang)
    story: list[Any] = [
        Paragraph(escape(title), styles["title"]),
        Paragraph(
            escape(
                tr(gettext_noop("Period {start} to {end} · due {due}"), lang).format(
                    start=report.period_start.isoformat(),
                    end=report.period_end.isoformat(),
                    due=report.due_date.isoformat(),
                )
            ),
            styles["body"],
        ),
        Paragraph(
            escape(
                tr(
                    gettext_noop(
                        "Draft assembled from Saisei records. Check every figure before the "
                        "committee reviews it; the report is required even when no patient was "
                        "treated (ASRM Art. 20–21; 別紙様式第3)."
                    ),
                    lang,
                )
            ),
            styles["small"],
        ),
        Spacer(1, 4 * mm),
    ]
    for section in data.get("sections", []):
        story.append(Paragraph(escape(tr(section["title"], lang)), styles["heading"]))
        if not section.get("available"):
            story.append(
                Paragraph(
                    escape(tr(gettext_noop("No data source is connected for this section."), lang)),
                    styles["body"],
                )
            )
            continue
        rows = [render_value(label, value, lang) for label, value in section["rows"]]
        story.append(data_table(rows=rows, col_widths=[110 * mm, 60 * mm], header=False))
    if report.committee_review_date:
        story.append(Spacer(1, 4 * mm))
        story.append(
            Paragraph(
                escape(
                    tr(gettext_noop("Committee reviewed on {date}: {opinion}"), lang).format(
                        date=report.committee_review_date.isoformat(),
                        opinion=report.committee_opinion or "—",
                    )
                ),
                styles["body"],
            )
        )
    return build_a4_pdf(
        story=story,
        title=title,
        header_left=report.plan.title,
        header_right=report.plan.plan_number,
        footer_left="Saisei",
    )
