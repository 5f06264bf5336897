"""Reads for the licence register and the clinic's own duties, scoped, in constant queries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet

from saisei.core.models import User
from saisei.core.selectors import get_scoped
from saisei.regulatory import permissions
from saisei.regulatory.models import (
    CommitteeAction,
    CommitteeOpinion,
    Complaint,
    FacilityAuthorisation,
    FacilityChange,
    Obligation,
    PeriodicCheck,
    ProcessingFacility,
    today_tokyo,
)

# ⚠ The Regulation sets no time limit for answering a complaint; a house default, configurable
# (SAISEI_COMPLAINT_OPEN_DAYS), puts a complaint open longer than this on the dashboard.
DEFAULT_COMPLAINT_OPEN_DAYS = 30


def complaint_open_days() -> int:
    return int(getattr(settings, "SAISEI_COMPLAINT_OPEN_DAYS", DEFAULT_COMPLAINT_OPEN_DAYS))


def facility_detail(*, actor: User, external_id: Any) -> ProcessingFacility:
    """A facility with its register, changes and obligations (readable by every staff member)."""
    qs = permissions.scope_regulatory(
        actor,
        ProcessingFacility.objects.filter(voided_at__isnull=True)
        .select_related("site")
        .prefetch_related(
            Prefetch(
                "authorisations",
                queryset=FacilityAuthorisation.objects.select_related("renews").order_by(
                    "valid_from", "pk"
                ),
            ),
            Prefetch(
                "changes",
                queryset=FacilityChange.objects.filter(voided_at__isnull=True).select_related(
                    "recorded_by"
                ),
            ),
        ),
    )
    return get_scoped(qs, external_id)


def facility_obligations(*, actor: User, facility: ProcessingFacility) -> list[Obligation]:
    """The facility's yearly reports, change notices and renewal reminders (empty if not allowed)."""
    return list(
        permissions.scope_obligations(
            actor, Obligation.objects.filter(facility=facility, voided_at__isnull=True)
        )
        .select_related("facility")
        .order_by("-status", "due_date", "pk")
    )


def authorisation_get(*, actor: User, facility: ProcessingFacility, external_id: Any) -> Any:
    return get_scoped(
        FacilityAuthorisation.objects.filter(facility=facility, voided_at__isnull=True),
        external_id,
    )


def complaint_list(*, actor: User, open_only: bool = False) -> QuerySet[Complaint]:
    qs = Complaint.objects.filter(voided_at__isnull=True).select_related("handler")
    if open_only:
        qs = qs.filter(status__in=[Complaint.Status.RECEIVED, Complaint.Status.INVESTIGATING])
    return permissions.scope_duties(actor, qs)


def complaint_get(*, actor: User, external_id: Any) -> Complaint:
    return get_scoped(complaint_list(actor=actor), external_id)


def complaints_open_too_long(*, actor: User, today: dt.date | None = None) -> list[Complaint]:
    day = today or today_tokyo()
    limit = day - dt.timedelta(days=complaint_open_days())
    return list(complaint_list(actor=actor, open_only=True).filter(received_on__lt=limit))


def check_list(*, actor: User, open_only: bool = False) -> QuerySet[PeriodicCheck]:
    qs = PeriodicCheck.objects.filter(voided_at__isnull=True).select_related(
        "assignee", "signed_off_by", "plan"
    )
    if open_only:
        qs = qs.filter(status=PeriodicCheck.Status.DUE)
    return permissions.scope_checks(actor, qs)


def check_get(*, actor: User, external_id: Any) -> PeriodicCheck:
    return get_scoped(check_list(actor=actor), external_id)


def opinion_list(*, actor: User) -> QuerySet[CommitteeOpinion]:
    return permissions.scope_duties(
        actor,
        CommitteeOpinion.objects.filter(voided_at__isnull=True)
        .select_related("committee", "plan")
        .prefetch_related(
            Prefetch(
                "actions",
                queryset=CommitteeAction.objects.filter(voided_at__isnull=True).select_related(
                    "owner", "closed_by"
                ),
            )
        ),
    )


def opinion_get(*, actor: User, external_id: Any) -> CommitteeOpinion:
    return get_scoped(opinion_list(actor=actor), external_id)


def action_list(*, actor: User, open_only: bool = False) -> QuerySet[CommitteeAction]:
    qs = CommitteeAction.objects.filter(voided_at__isnull=True).select_related(
        "opinion", "opinion__committee", "owner"
    )
    if open_only:
        qs = qs.filter(status=CommitteeAction.Status.OPEN)
    return permissions.scope_duties(actor, qs)


def action_get(*, actor: User, external_id: Any) -> CommitteeAction:
    return get_scoped(action_list(actor=actor), external_id)


def duties_dashboard(*, actor: User, today: dt.date | None = None) -> dict[str, Any] | None:
    """What the compliance dashboard shows of the clinic's own duties (None: not the actor's)."""
    if not permissions.can_view_duties(actor):
        return None
    day = today or today_tokyo()
    return {
        "complaints_too_long": complaints_open_too_long(actor=actor, today=day),
        "complaint_open_days": complaint_open_days(),
        "open_actions": list(action_list(actor=actor, open_only=True)),
        "checks_due": list(
            check_list(actor=actor, open_only=True).filter(due_date__lte=day + dt.timedelta(30))
        ),
        "today": day,
    }
