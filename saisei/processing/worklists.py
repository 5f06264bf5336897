"""Open processing work on the home page: lots due, QC to review, lots to release, deviations."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saisei.core.models import Role
from saisei.core.shell import WorkItem, Worklist
from saisei.processing import selectors
from saisei.processing.models import Lot


def _lot_item(lot: Lot, detail: str = "", level: str = "") -> WorkItem:
    return WorkItem(
        title=f"{lot.number} ({lot.donation.patient.patient_code})",
        url=reverse("processing:lot_detail", args=[lot.external_id]),
        detail=detail,
        due=lot.due_on,
        level=level,
    )


def _due(user: Any) -> list[WorkItem]:
    today = timezone.localdate()
    lots = selectors.lot_list(actor=user, status=Lot.Status.IN_CULTURE).filter(due_on__lte=today)
    return [_lot_item(lot, str(_("harvest forecast reached")), "warn") for lot in lots[:20]]


def _to_release(user: Any) -> list[WorkItem]:
    lots = selectors.lot_list(actor=user, status=Lot.Status.QC_PENDING)
    return [_lot_item(lot, str(_("QC pending"))) for lot in lots[:20]]


def _deviations(user: Any) -> list[WorkItem]:
    return [
        WorkItem(
            title=f"{d.number} {d.title}",
            url=reverse("processing:deviation_detail", args=[d.external_id]),
            detail=str(d.get_status_display()),
            level="danger" if d.severity == "critical" else "warn",
        )
        for d in selectors.deviation_list(actor=user, open_only=True)[:20]
    ]


def _holds(user: Any) -> list[WorkItem]:
    return [
        WorkItem(
            title=f"{h.dose.din} {h.dose.product_code} ({h.dose.patient.patient_code})",
            url=reverse("processing:dose_detail", args=[h.dose.external_id]),
            detail=f"{h.get_kind_display()} · {h.source_ref}".strip(" ·"),
            level="danger",
        )
        for h in selectors.hold_list(actor=user)[:20]
    ]


def _programmes_to_approve(user: Any) -> list[WorkItem]:
    return [
        WorkItem(
            title=f"{p.room} v{p.version} ({p.get_grade_display()})",
            url=reverse("processing:programme_detail", args=[p.external_id]),
            detail=str(_("prepared by %(who)s") % {"who": p.prepared_by}),
            level="warn",
        )
        for p in selectors.programme_list(actor=user)
        .filter(status="draft")
        .prefetch_related(None)[:20]
    ]


WORKLISTS = [
    Worklist(
        key="processing_due",
        title=_("Lots due for harvest"),
        roles=frozenset({Role.CPC_TECHNICIAN}),
        items=_due,
        empty_text=_("No lot is due."),
        order=30,
    ),
    Worklist(
        key="processing_release",
        title=_("Lots waiting for QC review and release"),
        roles=frozenset({Role.QA_MANAGER, Role.CPC_TECHNICIAN}),
        items=_to_release,
        empty_text=_("No lot is waiting."),
        order=31,
        first_for=frozenset({Role.QA_MANAGER}),
    ),
    Worklist(
        key="processing_deviations",
        title=_("Open deviations"),
        roles=frozenset({Role.QA_MANAGER, Role.CPC_TECHNICIAN}),
        items=_deviations,
        empty_text=_("No open deviations."),
        order=32,
    ),
    Worklist(
        key="processing_holds",
        title=_("Doses on hold for QA"),
        roles=frozenset({Role.QA_MANAGER}),
        items=_holds,
        empty_text=_("No dose is on hold."),
        order=33,
    ),
    Worklist(
        key="processing_programmes",
        title=_("Monitoring programmes to approve"),
        roles=frozenset({Role.QA_MANAGER}),
        items=_programmes_to_approve,
        empty_text=_("No programme version is waiting."),
        order=34,
    ),
]
