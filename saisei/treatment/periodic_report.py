"""Treatment's section of the plan's periodic report: patients treated and administrations."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from saisei.core.registry import ReportScope, ReportSection, Row
from saisei.treatment.models import Administration


def _treatment_section(scope: ReportScope) -> list[Row]:
    start, end = scope.datetime_range()
    qs = Administration.objects.filter(
        plan=scope.plan, voided_at__isnull=True, started_at__gte=start, started_at__lt=end
    )
    return [
        (gettext_noop("Patients treated"), qs.values("patient_id").distinct().count()),
        (gettext_noop("Administrations"), qs.count()),
    ]


SECTIONS = [
    ReportSection(
        "treatment", gettext_noop("Patients and administrations"), 20, _treatment_section
    ),
]
