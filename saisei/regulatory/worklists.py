"""Home-page worklists: what the compliance office must file soon, and plans needing a step."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from saisei.core.models import Role
from saisei.core.shell import WorkItem, Worklist
from saisei.regulatory import selectors
from saisei.regulatory.models import PlanState, today_tokyo
from saisei.regulatory.services.obligations import rule_text

# Plan states in which the compliance office owes the next step.
WAITING_ON_US = (
    PlanState.DRAFT,
    PlanState.CHANGES_REQUESTED,
    PlanState.OPINION_FAVOURABLE,
    PlanState.ACCEPTED,
    PlanState.CHANGE_ORDERED,
    PlanState.SUSPENDED,
)


def _obligations_due(user: Any) -> list[WorkItem]:
    today = today_tokyo()
    items = []
    for ob in selectors.obligation_list(actor=user, overdue=True, due_within_days=30)[:20]:
        overdue = ob.due_date < today
        items.append(
            WorkItem(
                title=rule_text(ob.rule_id, ob.title),
                url=reverse("regulatory:obligation_done", args=[ob.external_id]),
                detail=ob.plan.title if ob.plan is not None else gettext("No provision plan"),
                due=(gettext("Overdue since {date}") if overdue else "{date}").format(
                    date=ob.due_date.isoformat()
                ),
                level="danger" if overdue else ("warn" if (ob.due_date - today).days <= 7 else ""),
            )
        )
    return items


def _plans_needing_a_step(user: Any) -> list[WorkItem]:
    plans = selectors.plan_list(actor=user).filter(status__in=WAITING_ON_US)[:20]
    return [
        WorkItem(
            title=p.title,
            url=reverse("regulatory:plan_detail", args=[p.external_id]),
            detail=str(p.get_status_display()),
            level="danger" if p.status in (PlanState.SUSPENDED, PlanState.CHANGE_ORDERED) else "",
        )
        for p in plans
    ]


WORKLISTS = [
    Worklist(
        key="regulatory-obligations",
        title=_("Reports due in 30 days or overdue"),
        roles=frozenset({Role.COMPLIANCE_OFFICER, Role.ORG_ADMIN, Role.COMMITTEE_REVIEWER}),
        items=_obligations_due,
        empty_text=_("Nothing due in the next 30 days."),
        order=10,
    ),
    Worklist(
        key="regulatory-plans",
        title=_("Provision plans waiting for a step"),
        roles=frozenset({Role.COMPLIANCE_OFFICER, Role.ORG_ADMIN}),
        items=_plans_needing_a_step,
        empty_text=_("No plan is waiting for a step."),
        order=11,
    ),
]
