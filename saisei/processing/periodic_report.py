"""Processing's section of the plan's periodic report: deviations by severity."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from saisei.core.registry import ReportScope, ReportSection, Row
from saisei.processing.models import Deviation


def _processing_section(scope: ReportScope) -> list[Row]:
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


SECTIONS = [
    ReportSection("processing", gettext_noop("Cell processing"), 40, _processing_section),
]
