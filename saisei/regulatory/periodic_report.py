"""Regulatory's sections of the plan's periodic report: the plan itself and the reports filed."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from saisei.core.registry import ReportScope, ReportSection, Row
from saisei.regulatory.models import Obligation, PlanVersion

# The class as the law names it (ASRM Art. 2(5)-(7)), in each language the report is read in.
RISK_CLASS_NAMES = {
    1: {"en": "Class I", "ja": "第一種"},
    2: {"en": "Class II", "ja": "第二種"},
    3: {"en": "Class III", "ja": "第三種"},
}


def _risk_class(value: int | None) -> dict[str, dict[str, str]] | str:
    return {"names": RISK_CLASS_NAMES[value]} if value in RISK_CLASS_NAMES else "—"


def _names(record: object) -> dict[str, dict[str, str]]:
    """A registry record's name in English and Japanese (the Japanese form prints 名称 as filed)."""
    name = str(getattr(record, "name", ""))
    return {"names": {"en": name, "ja": str(getattr(record, "name_ja", "")) or name}}


def _plan_section(scope: ReportScope) -> list[Row]:
    plan = scope.plan
    versions = [
        v
        for v in PlanVersion.objects.filter(plan=plan).select_related("committee")
        if v.in_force_from is not None
        and v.in_force_from <= scope.end
        and (v.in_force_until is None or v.in_force_until >= scope.start)
    ]
    committee = next((v.committee for v in versions if v.committee), None)
    return [
        (gettext_noop("Plan number"), plan.plan_number or "—"),
        (gettext_noop("Treatment"), plan.title),
        (gettext_noop("Risk class"), _risk_class(plan.risk_class)),
        (gettext_noop("Medical institution"), _names(plan.institution)),
        (gettext_noop("Reviewing committee"), _names(committee) if committee else "—"),
        (
            gettext_noop("Versions in force during the period"),
            ", ".join(f"v{v.number}" for v in versions) or "—",
        ),
        (gettext_noop("Plan accepted on"), plan.first_accepted_date),
    ]


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


SECTIONS = [
    ReportSection("plan", gettext_noop("Plan"), 10, _plan_section),
    ReportSection(
        "reports_filed", gettext_noop("Adverse-event reporting"), 35, _reports_filed_section
    ),
]
