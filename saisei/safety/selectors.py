"""Reads for safety, scoped to the actor's organisation: events with their clocks, triage queue."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from saisei.core.models import User
from saisei.core.selectors import get_scoped
from saisei.core.timezones import TOKYO
from saisei.safety.models import (
    SERIOUSNESS_FIELDS,
    AdverseEvent,
    PatientReport,
    ReportSubmission,
)
from saisei.safety.permissions import scope_safety
from saisei.safety.services import SUBJECT_TYPE

if TYPE_CHECKING:
    from saisei.regulatory.models import Obligation


@dataclass(frozen=True)
class Clock:
    """Time left on one reporting obligation; a due date ends at midnight in Japan."""

    obligation_id: str
    recipient: str
    recipient_display: str
    rule_id: str
    due_date: dt.date
    status: str
    days_left: int
    hours_left: int
    overdue: bool
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "obligation": self.obligation_id,
            "recipient": self.recipient,
            "rule": self.rule_id,
            "due_date": self.due_date,
            "status": self.status,
            "days_left": self.days_left,
            "hours_left": self.hours_left,
            "overdue": self.overdue,
            "source": self.source,
        }


def clock_for(obligation: Obligation, *, now: dt.datetime | None = None) -> Clock:
    now = now or timezone.now()
    end = dt.datetime.combine(obligation.due_date + dt.timedelta(days=1), dt.time.min, TOKYO)
    remaining = end - now
    today = now.astimezone(TOKYO).date()
    done = obligation.status == "done"
    return Clock(
        obligation_id=str(obligation.external_id),
        recipient=obligation.recipient,
        recipient_display=str(obligation.get_recipient_display()),
        rule_id=obligation.rule_id,
        due_date=obligation.due_date,
        status=obligation.status,
        days_left=(obligation.due_date - today).days,
        hours_left=int(remaining.total_seconds() // 3600),
        overdue=not done and remaining.total_seconds() <= 0,
        source=obligation.source,
    )


def adverse_event_list(
    *, actor: User, serious_only: bool = False, open_only: bool = False
) -> QuerySet[AdverseEvent]:
    # The two people come by primary key in their own query: joined, they made PostgreSQL
    # spend 7 ms planning every page for a 1 ms read (0.9 ms without them, bench/RESULTS.md).
    qs = scope_safety(
        actor,
        AdverseEvent.objects.select_related("patient", "plan", "lot", "dose")
        .prefetch_related("recorded_by", "assessed_by")
        .filter(voided_at__isnull=True),
    )
    if open_only:
        qs = qs.filter(status=AdverseEvent.Status.OPEN)
    if serious_only:
        from django.db.models import Q

        q = Q()
        for name in (
            "death",
            "life_threatening",
            "hospitalisation",
            "disability",
            "congenital_anomaly",
            "other_medically_important",
        ):
            q |= Q(**{name: True})
        qs = qs.filter(q)
    return qs


def adverse_event_summary(*, patient_ids: Iterable[int]) -> dict[str, Any]:
    """Live adverse events of these patients: total, patients, serious, and counts by grade."""
    qs = AdverseEvent.objects.filter(patient_id__in=patient_ids, voided_at__isnull=True)
    serious = Q()
    for name, _level in SERIOUSNESS_FIELDS:
        serious |= Q(**{name: True})
    by_grade = Counter(qs.values_list("severity_grade", flat=True))
    return {
        "total": qs.count(),
        "patients": qs.values("patient_id").distinct().count(),
        "serious": qs.filter(serious).count(),
        "by_grade": {str(k): v for k, v in sorted(by_grade.items())},
    }


def adverse_event_get(*, actor: User, external_id: Any) -> AdverseEvent:
    return get_scoped(
        adverse_event_list(actor=actor).select_related(
            "administration", "administration__physician", "plan__institution"
        ),
        external_id,
    )


def clocks_for_events(
    *, events: list[AdverseEvent], now: dt.datetime | None = None
) -> dict[int, list[Clock]]:
    """The reporting clocks of each event (one query for the whole page)."""
    from saisei.regulatory.selectors import obligations_for_subjects

    by_external = {str(e.external_id): e.pk for e in events}
    out: dict[int, list[Clock]] = defaultdict(list)
    if not by_external:
        return out
    rows = obligations_for_subjects(subject_type=SUBJECT_TYPE, subject_ids=list(by_external))
    for obligation in rows:
        out[by_external[obligation.subject_id]].append(clock_for(obligation, now=now))
    return out


def attach_clocks(events: list[AdverseEvent], *, now: dt.datetime | None = None) -> list[Any]:
    clocks = clocks_for_events(events=events, now=now)
    for event in events:
        event.clocks = clocks.get(event.pk, [])  # type: ignore[attr-defined]
        open_clocks = [c for c in event.clocks if c.status == "open"]  # type: ignore[attr-defined]
        event.next_clock = min(open_clocks, key=lambda c: c.due_date) if open_clocks else None  # type: ignore[attr-defined]
    return events


def submission_list(*, actor: User, event: AdverseEvent) -> QuerySet[ReportSubmission]:
    return scope_safety(
        actor, ReportSubmission.objects.select_related("sent_by", "obligation", "follow_up")
    ).filter(event=event)


def patient_report_list(*, actor: User, status: str | None = None) -> QuerySet[PatientReport]:
    qs = scope_safety(
        actor,
        PatientReport.objects.select_related("patient", "adverse_event", "triaged_by").filter(
            voided_at__isnull=True
        ),
    )
    if status:
        qs = qs.filter(status=status)
    return qs


def triage_queue(*, actor: User) -> QuerySet[PatientReport]:
    """Reports waiting for a clinician, the most urgent and oldest first."""
    from django.db.models import Case, IntegerField, Value, When

    urgency = Case(
        When(how_bad="emergency", then=Value(0)),
        When(how_bad="severe", then=Value(1)),
        When(how_bad="moderate", then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    return (
        patient_report_list(actor=actor, status=PatientReport.Status.NEW)
        .annotate(urgency=urgency)
        .order_by("urgency", "submitted_at")
    )


def patient_report_get(*, actor: User, external_id: Any) -> PatientReport:
    return get_scoped(patient_report_list(actor=actor), external_id)
