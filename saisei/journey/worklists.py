"""Open journey work on the home page: new inquiries, pre-screens to sign, quotes to follow up."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from saisei.core.models import Role
from saisei.core.shell import WorkItem, Worklist

from .models import Inquiry, Prescreen, Quote
from .permissions import scope_journey


def _new_inquiries(user: Any) -> list[WorkItem]:
    qs = scope_journey(
        user, Inquiry.objects.filter(status__in=["new", "info_requested"], voided_at__isnull=True)
    )
    return [
        WorkItem(
            title=f"{i.reference} — {i.patient_name}",
            url=reverse("journey:inquiry_detail", args=[i.external_id]),
            detail=f"{i.country} · {i.get_status_display()}",
            due=i.created_at.date(),
            level="warn" if i.status == "new" else "",
        )
        for i in qs.order_by("created_at")[:20]
    ]


def _prescreens_to_sign(user: Any) -> list[WorkItem]:
    qs = scope_journey(
        user, Prescreen.objects.filter(decision="", voided_at__isnull=True)
    ).select_related("patient")
    return [
        WorkItem(
            title=f"{p.patient.patient_code} — {p.get_outcome_display()}",
            url=reverse("journey:prescreen_decide", args=[p.external_id]),
            detail=p.stage,
        )
        for p in qs.order_by("created_at")[:20]
    ]


def _open_quotes(user: Any) -> list[WorkItem]:
    qs = scope_journey(
        user, Quote.objects.filter(status__in=["draft", "issued"], voided_at__isnull=True)
    ).select_related("patient")
    return [
        WorkItem(
            title=f"{q.number} v{q.version} — {q.patient.patient_code}",
            url=reverse("journey:quote_detail", args=[q.external_id]),
            detail=q.get_status_display(),
            due=q.valid_until,
        )
        for q in qs.order_by("valid_until")[:20]
    ]


WORKLISTS = [
    Worklist(
        "journey-inquiries",
        _("New inquiries"),
        frozenset({Role.COORDINATOR, Role.ORG_ADMIN}),
        _new_inquiries,
        _("No new inquiries."),
        order=20,
    ),
    Worklist(
        "journey-prescreens",
        _("Pre-screenings to decide"),
        frozenset({Role.PHYSICIAN}),
        _prescreens_to_sign,
        _("Nothing to decide."),
        order=21,
    ),
    Worklist(
        "journey-quotes",
        _("Open quotes"),
        frozenset({Role.COORDINATOR}),
        _open_quotes,
        _("No open quotes."),
        order=22,
    ),
]
