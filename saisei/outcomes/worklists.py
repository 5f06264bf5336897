"""Home-page worklists: outcome visits that are overdue or coming up."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from saisei.core.models import Role
from saisei.core.shell import WorkItem, Worklist
from saisei.outcomes import selectors


def _item(v: Any, level: str) -> WorkItem:
    return WorkItem(
        title=f"{v.patient.patient_code} — {v.get_kind_display()}"
        + (f" {v.number}" if v.kind != "baseline" else ""),
        url=reverse("outcomes:patient", kwargs={"external_id": v.patient.external_id}),
        detail=gettext("Instruments: %(list)s") % {"list": ", ".join(v.instruments or [])},
        due=v.due_date,
        level=level,
    )


def _overdue(user: Any) -> list[WorkItem]:
    return [
        _item(v, "danger")
        for v in selectors.visits_overdue(actor=user, today=timezone.localdate(), limit=20)
    ]


def _due(user: Any) -> list[WorkItem]:
    return [
        _item(v, "") for v in selectors.visits_due(actor=user, today=timezone.localdate(), limit=20)
    ]


WORKLISTS = [
    Worklist(
        "outcomes-overdue",
        _("Overdue outcome assessments"),
        frozenset({Role.PHYSICIAN, Role.NURSE}),
        _overdue,
        _("No overdue assessments."),
        order=40,
    ),
    Worklist(
        "outcomes-due",
        _("Outcome assessments due in the next two weeks"),
        frozenset({Role.PHYSICIAN, Role.NURSE}),
        _due,
        _("Nothing due soon."),
        order=41,
    ),
]
