"""Open bedside work on the home page: today's infusions not yet given, infusions still running."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from saisei.core.models import Role
from saisei.core.selectors import first_matching
from saisei.core.shell import WorkItem, Worklist
from saisei.core.timezones import TOKYO
from saisei.treatment import selectors
from saisei.treatment.models import Administration

CLINICIANS = frozenset({Role.NURSE, Role.PHYSICIAN})
HOME_ROWS = 20


def _today(user: Any) -> list[WorkItem]:
    items = []
    # The first 20 not yet given, read a chunk at a time: a network's day can hold hundreds.
    steps = selectors.infusion_steps_for_day(actor=user)
    for step in first_matching(steps, lambda s: not s.given, HOME_ROWS):
        patient = step.course.patient
        items.append(
            WorkItem(
                title=_("Infusion %(number)d: %(patient)s")
                % {"number": step.number, "patient": patient},
                url=reverse("treatment:bedside", args=[step.external_id]),
                detail=str(step.get_status_display()),
                due=step.planned_date,
                level="warn" if step.status == "blocked" else "",
            )
        )
    return items


def _running(user: Any) -> list[WorkItem]:
    qs = selectors.administration_list(actor=user).filter(status=Administration.Status.IN_PROGRESS)
    return [
        WorkItem(
            title=_("Running: infusion %(number)d, %(patient)s")
            % {"number": a.number, "patient": a.patient.patient_code},
            url=reverse("treatment:administration_detail", args=[a.external_id]),
            detail=_("started %(time)s")
            % {"time": a.started_at.astimezone(TOKYO).strftime("%H:%M")},
            level="warn",
        )
        for a in qs[:20]
    ]


WORKLISTS = [
    Worklist(
        "treatment_today",
        _l("Today's infusions"),
        CLINICIANS,
        _today,
        _l("No infusions planned today."),
        order=20,
        first_for=frozenset({Role.NURSE, Role.PHYSICIAN}),
    ),
    Worklist(
        "treatment_running",
        _l("Infusions in progress"),
        CLINICIANS,
        _running,
        _l("No infusion is running."),
        order=21,
    ),
]
