"""Open safety work on the home page: reports due to the committee/ministry, patient reports."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from saisei.core.models import Role
from saisei.core.shell import WorkItem, Worklist
from saisei.safety import selectors


def _clock_text(clock: Any) -> str:
    if clock.overdue:
        return _("%(recipient)s report overdue since %(date)s") % {
            "recipient": clock.recipient_display,
            "date": clock.due_date.isoformat(),
        }
    return _("%(recipient)s report due %(date)s (%(days)d days, %(hours)d hours left)") % {
        "recipient": clock.recipient_display,
        "date": clock.due_date.isoformat(),
        "days": clock.days_left,
        "hours": clock.hours_left,
    }


def _reports_due(user: Any) -> list[WorkItem]:
    events = selectors.attach_clocks(
        list(selectors.adverse_event_list(actor=user, open_only=True)[:100])
    )
    items = []
    for event in events:
        clock = event.next_clock
        if clock is None:
            continue
        items.append(
            WorkItem(
                title=f"{event.number} {event.term} ({event.patient.patient_code})",
                url=reverse("safety:event_detail", args=[event.external_id]),
                detail=_clock_text(clock),
                due=clock.due_date,
                level="danger" if clock.overdue or clock.days_left <= 2 else "warn",
            )
        )
    return sorted(items, key=lambda i: i.due)[:20]


def _triage(user: Any) -> list[WorkItem]:
    return [
        WorkItem(
            title=_("%(patient)s: %(how_bad)s")
            % {"patient": r.patient.patient_code, "how_bad": r.get_how_bad_display()},
            url=reverse("safety:triage_decide", args=[r.external_id]),
            detail=r.description[:120],
            due=r.submitted_at.date(),
            level="danger" if r.how_bad in ("severe", "emergency") else "warn",
        )
        for r in selectors.triage_queue(actor=user)[:20]
    ]


WORKLISTS = [
    Worklist(
        "safety_reports_due",
        _l("Adverse-event reports due"),
        frozenset({Role.COMPLIANCE_OFFICER, Role.PHYSICIAN, Role.QA_MANAGER, Role.ORG_ADMIN}),
        _reports_due,
        _l("No adverse-event report is due."),
        order=10,
    ),
    Worklist(
        "safety_triage",
        _l("Problems reported by patients"),
        frozenset({Role.PHYSICIAN, Role.NURSE}),
        _triage,
        _l("No patient report is waiting."),
        order=11,
    ),
]
