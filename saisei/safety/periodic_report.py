"""Safety's section of the plan's periodic report: adverse events by seriousness and outcome."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from saisei.core.registry import ReportScope, ReportSection, Row
from saisei.safety.models import AdverseEvent

# The seriousness criteria (AdverseEvent's flags) with the labels the report prints.
SERIOUSNESS_FLAGS = (
    ("death", gettext_noop("Death")),
    ("life_threatening", gettext_noop("Life-threatening")),
    ("hospitalisation", gettext_noop("Hospitalisation or longer stay")),
    ("disability", gettext_noop("Disability")),
    ("congenital_anomaly", gettext_noop("Congenital anomaly")),
    ("other_medically_important", gettext_noop("Other serious")),
)


def _safety_section(scope: ReportScope) -> list[Row]:
    events = list(
        AdverseEvent.objects.filter(
            plan=scope.plan,
            voided_at__isnull=True,
            onset_date__gte=scope.start,
            onset_date__lte=scope.end,
        )
    )
    rows: list[Row] = [(gettext_noop("Adverse events (all)"), len(events))]
    for flag, label in SERIOUSNESS_FLAGS:
        rows.append((label, sum(1 for e in events if getattr(e, flag))))
    rows.append(
        (
            gettext_noop("Non-serious"),
            sum(1 for e in events if not any(getattr(e, f) for f, _l in SERIOUSNESS_FLAGS)),
        )
    )
    outcomes: dict[str, int] = {}
    for e in events:
        key = str(e.outcome or "unknown")
        outcomes[key] = outcomes.get(key, 0) + 1
    for key, n in sorted(outcomes.items()):
        rows.append((gettext_noop("Outcome: {outcome}"), {"outcome": key, "count": n}))
    return rows


SECTIONS = [
    ReportSection(
        "safety", gettext_noop("Adverse events by seriousness and outcome"), 30, _safety_section
    ),
]
