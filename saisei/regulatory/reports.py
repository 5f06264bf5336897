"""Periodic report (定期報告, 別紙様式第3) assembly: data sections from every app, and the PDF draft.

Extension point: any app may add a module ``saisei/<app>/periodic_report.py`` defining
``SECTIONS: list[ReportSection]`` (or call ``register_section``). Each section's ``build``
receives a ``ReportScope`` (plan and period) and returns rows of (label msgid, value), or None
when it has nothing to say. The outcomes app is expected to add the outcome summary this way;
until it does, the report states that no outcome summary is available. Labels are English
msgids stored in the data snapshot, translated when the document is rendered.

⚠ The facts sheet (§5) could not verify the report's contents; the sections below follow what
it believes: patients treated, administrations, adverse events by seriousness and outcome, and
processing deviations, plus an evaluation the committee reviews.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.utils.translation import gettext_noop

from saisei.regulatory.models import Obligation, PeriodicReport, PlanVersion, ProvisionPlan
from saisei.regulatory.rules.common import japanese

Row = tuple[str, Any]


@dataclass(frozen=True)
class ReportScope:
    plan: ProvisionPlan
    start: dt.date
    end: dt.date

    def datetime_range(self) -> tuple[dt.datetime, dt.datetime]:
        from saisei.regulatory.models import TOKYO

        start = dt.datetime.combine(self.start, dt.time.min, tzinfo=TOKYO)
        end = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=TOKYO)
        return start, end


@dataclass(frozen=True)
class ReportSection:
    """One section of the periodic report; ``title`` is an English msgid."""

    key: str
    title: str
    order: int
    build: Callable[[ReportScope], list[Row] | None]


_REGISTERED: list[ReportSection] = []


def register_section(section: ReportSection) -> ReportSection:
    """Add a section at run time (for apps that prefer ``AppConfig.ready`` to a module)."""
    if all(s.key != section.key for s in _REGISTERED):
        _REGISTERED.append(section)
    return section


def _model(label: str) -> Any | None:
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


# --- built-in sections -------------------------------------------------------------------


def _plan_section(scope: ReportScope) -> list[Row]:
    plan = scope.plan
    versions = [
        v
        for v in PlanVersion.objects.filter(plan=plan).select_related("committee")
        if v.in_force_from is not None
        and v.in_force_from <= scope.end
        and (v.in_force_until is None or v.in_force_until >= scope.start)
    ]
    committee = next((v.committee.name for v in versions if v.committee), "—")
    return [
        (gettext_noop("Plan number"), plan.plan_number or "—"),
        (gettext_noop("Treatment"), plan.title),
        (gettext_noop("Risk class"), plan.risk_class),
        (gettext_noop("Medical institution"), plan.institution.name),
        (gettext_noop("Reviewing committee"), committee),
        (
            gettext_noop("Versions in force during the period"),
            ", ".join(f"v{v.number}" for v in versions) or "—",
        ),
        (gettext_noop("Plan accepted on"), plan.first_accepted_date),
    ]


def _treatment_section(scope: ReportScope) -> list[Row] | None:
    Administration = _model("treatment.Administration")
    if Administration is None:
        return None
    start, end = scope.datetime_range()
    qs = Administration.objects.filter(
        plan=scope.plan, voided_at__isnull=True, started_at__gte=start, started_at__lt=end
    )
    return [
        (gettext_noop("Patients treated"), qs.values("patient_id").distinct().count()),
        (gettext_noop("Administrations"), qs.count()),
    ]


SERIOUSNESS_FLAGS = (
    ("death", gettext_noop("Death")),
    ("life_threatening", gettext_noop("Life-threatening")),
    ("hospitalisation", gettext_noop("Hospitalisation or longer stay")),
    ("disability", gettext_noop("Disability")),
    ("congenital_anomaly", gettext_noop("Congenital anomaly")),
    ("other_medically_important", gettext_noop("Other serious")),
)


def _safety_section(scope: ReportScope) -> list[Row] | None:
    AdverseEvent = _model("safety.AdverseEvent")
    if AdverseEvent is None:
        return None
    events = list(
        AdverseEvent.objects.filter(
            plan=scope.plan,
            voided_at__isnull=True,
            onset_date__gte=scope.start,
            onset_date__lte=scope.end,
        )
    )
    rows: list[Row] = [(gettext_noop("Adverse events (all)"), len(events))]
    serious = 0
    for flag, label in SERIOUSNESS_FLAGS:
        n = sum(1 for e in events if getattr(e, flag, False))
        serious += n
        rows.append((label, n))
    rows.append(
        (
            gettext_noop("Non-serious"),
            sum(1 for e in events if not any(getattr(e, f, False) for f, _l in SERIOUSNESS_FLAGS)),
        )
    )
    outcomes: dict[str, int] = {}
    for e in events:
        key = str(getattr(e, "outcome", "") or "unknown")
        outcomes[key] = outcomes.get(key, 0) + 1
    for key, n in sorted(outcomes.items()):
        rows.append((gettext_noop("Outcome: {outcome}"), {"outcome": key, "count": n}))
    return rows


def _processing_section(scope: ReportScope) -> list[Row] | None:
    Deviation = _model("processing.Deviation")
    if Deviation is None:
        return None
    start, end = scope.datetime_range()
    qs = Deviation.objects.filter(
        lot__donation__plan=scope.plan,
        voided_at__isnull=True,
        opened_at__gte=start,
        opened_at__lt=end,
    )
    by_severity: dict[str, int] = {}
    for severity in qs.values_list("severity", flat=True):
        by_severity[str(severity)] = by_severity.get(str(severity), 0) + 1
    rows: list[Row] = [(gettext_noop("Processing deviations"), sum(by_severity.values()))]
    for severity, n in sorted(by_severity.items()):
        rows.append((gettext_noop("Severity: {severity}"), {"severity": severity, "count": n}))
    return rows


def _reports_filed_section(scope: ReportScope) -> list[Row]:
    filed = Obligation.objects.filter(
        plan=scope.plan,
        kind__in=["adverse_event", "ae_batch"],
        trigger_date__gte=scope.start,
        trigger_date__lte=scope.end,
        voided_at__isnull=True,
    )
    done = sum(1 for o in filed if o.status == Obligation.Status.DONE)
    late = sum(
        1
        for o in filed
        if o.status == Obligation.Status.DONE and o.submitted_date and o.submitted_date > o.due_date
    )
    return [
        (gettext_noop("Adverse-event reports due in the period"), len(filed)),
        (gettext_noop("Filed"), done),
        (gettext_noop("Filed late"), late),
    ]


def _outcomes_placeholder(scope: ReportScope) -> list[Row]:
    return [
        (
            gettext_noop("Outcome summary"),
            gettext_noop("No outcome summary is available yet (outcomes module not connected)."),
        )
    ]


BUILTIN_SECTIONS: tuple[ReportSection, ...] = (
    ReportSection("plan", gettext_noop("Plan"), 10, _plan_section),
    ReportSection(
        "treatment", gettext_noop("Patients and administrations"), 20, _treatment_section
    ),
    ReportSection(
        "safety", gettext_noop("Adverse events by seriousness and outcome"), 30, _safety_section
    ),
    ReportSection(
        "reports_filed", gettext_noop("Adverse-event reporting"), 35, _reports_filed_section
    ),
    ReportSection("processing", gettext_noop("Cell processing"), 40, _processing_section),
)
OUTCOMES_PLACEHOLDER = ReportSection(
    "outcomes", gettext_noop("Outcome summary"), 50, _outcomes_placeholder
)


def sections() -> list[ReportSection]:
    """Built-in sections, then those other apps contribute; the outcomes placeholder yields."""
    found: list[ReportSection] = [*BUILTIN_SECTIONS, *_REGISTERED]
    for app in settings.INSTALLED_APPS:
        if not app.startswith("saisei.") or app == "saisei.regulatory":
            continue
        try:
            mod = importlib.import_module(f"{app}.periodic_report")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.periodic_report":
                raise
            continue
        found.extend(getattr(mod, "SECTIONS", []))
    if all(s.key != "outcomes" for s in found):
        found.append(OUTCOMES_PLACEHOLDER)
    unique: dict[str, ReportSection] = {}
    for s in found:
        unique.setdefault(s.key, s)
    return sorted(unique.values(), key=lambda s: s.order)


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
    """Labels with parameters (e.g. an outcome) carry the parameter and the count in a dict."""
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
