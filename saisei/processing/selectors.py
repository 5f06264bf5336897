"""Reads for processing, already scoped to the actor's organisation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from saisei.core.models import User
from saisei.core.selectors import get_scoped
from saisei.processing.models import (
    ChainOfIdentity,
    CultureAlert,
    CultureStep,
    CustodyEvent,
    Deviation,
    Donation,
    Dose,
    EnvironmentalResult,
    LabelPrint,
    Lot,
    NearMiss,
    QCResult,
)
from saisei.processing.permissions import scope_processing


@dataclass(frozen=True)
class ScannedIds:
    """The identifiers a scan carried (valid structures only)."""

    din: str | None
    product_code: str | None
    coi: str | None
    valid: bool
    structures: list[dict[str, Any]]


def scanned_ids(*, scan_text: str) -> ScannedIds:
    """Pull DIN, product code and CoI out of a keyboard-wedge scan; invalid structures are ignored."""
    from saisei.processing.isbt128 import parse_scan

    result = parse_scan(scan_text or "")
    din = product = coi = None
    for s in result.structures:
        if not s.valid:
            continue
        if s.type == "din" and din is None:
            din = s.fields.get("din")
        elif s.type == "product_code" and product is None:
            product = s.fields.get("product_code")
        elif s.type == "coi" and coi is None:
            coi = s.fields.get("coi")
    return ScannedIds(
        din=din,
        product_code=product,
        coi=coi,
        valid=result.valid,
        structures=[s.as_dict() for s in result.structures],
    )


def donation_list(*, actor: User) -> QuerySet[Donation]:
    return scope_processing(
        actor,
        Donation.objects.select_related(
            "patient", "site", "collector", "plan", "physician", "facility", "course"
        ),
    )


def donation_get(*, actor: User, external_id: Any) -> Donation:
    return get_scoped(donation_list(actor=actor), external_id)


def lot_list(*, actor: User, status: str | None = None) -> QuerySet[Lot]:
    qs = scope_processing(
        actor,
        Lot.objects.select_related("donation", "donation__patient").filter(voided_at__isnull=True),
    )
    if status:
        qs = qs.filter(status=status)
    return qs.annotate(
        open_deviations=Count(
            "deviations",
            filter=Q(deviations__voided_at__isnull=True) & ~Q(deviations__status="closed"),
        )
    )


def lot_get(*, actor: User, external_id: Any) -> Lot:
    return get_scoped(lot_list(actor=actor), external_id)


def lot_batch_record(*, lot: Lot) -> dict[str, Any]:
    """Everything an inspector reads for one lot, in order: donation, culture, environment, QC,
    deviations, release, doses and labels."""
    return {
        "lot": lot,
        "donation": lot.donation,
        "steps": list(
            lot.steps.filter(voided_at__isnull=True)
            .select_related("performed_by")
            .order_by("performed_at", "pk")
        ),
        "environment": list(
            lot.environment.filter(voided_at__isnull=True).select_related("deviation")
        ),
        "qc": list(lot.qc_results.filter(voided_at__isnull=True).select_related("recorded_by")),
        "deviations": list(lot.deviations.filter(voided_at__isnull=True)),
        "release": getattr(lot, "release", None) if hasattr(lot, "release") else None,
        "doses": list(lot.doses.filter(voided_at__isnull=True)),
        "alerts": list(lot.culture_alerts.all()),
        "labels": list(
            LabelPrint.objects.filter(dose__lot=lot, voided_at__isnull=True).select_related(
                "dose", "printed_by"
            )
        ),
    }


def qc_results_current(*, lot: Lot) -> dict[str, QCResult]:
    """Latest non-voided result per test code at lot level (post-thaw results excluded)."""
    latest: dict[str, QCResult] = {}
    for r in lot.qc_results.filter(voided_at__isnull=True, dose__isnull=True).order_by(
        "tested_at", "pk"
    ):
        latest[r.test_code] = r
    return latest


def deviation_list(*, actor: User, open_only: bool = False) -> QuerySet[Deviation]:
    qs = scope_processing(
        actor, Deviation.objects.select_related("lot").filter(voided_at__isnull=True)
    )
    if open_only:
        qs = qs.exclude(status=Deviation.Status.CLOSED)
    return qs


def deviation_get(*, actor: User, external_id: Any) -> Deviation:
    return get_scoped(deviation_list(actor=actor), external_id)


def dose_list(*, actor: User, status: str | None = None, lot: Lot | None = None) -> QuerySet[Dose]:
    qs = scope_processing(
        actor, Dose.objects.select_related("lot", "patient").filter(voided_at__isnull=True)
    )
    if status:
        qs = qs.filter(status=status)
    if lot is not None:
        qs = qs.filter(lot=lot)
    return qs


def dose_get(*, actor: User, external_id: Any) -> Dose:
    return get_scoped(dose_list(actor=actor), external_id)


def dose_for_scan(*, actor: User, scan_text: str) -> Dose | None:
    """The dose a scanned bag label identifies (DIN + product code with division), or None.

    With a DIN alone, the dose is returned only when the DIN has exactly one dose, so an
    ambiguous scan never picks a bag by chance.
    """
    ids = scanned_ids(scan_text=scan_text)
    if not ids.din:
        return None
    qs = dose_list(actor=actor).filter(din=ids.din)
    if ids.product_code:
        return qs.filter(product_code=ids.product_code).first()
    doses = list(qs[:2])
    return doses[0] if len(doses) == 1 else None


def course_identity_map(*, course_ids: list[int]) -> dict[int, str]:
    """Course id -> its chain-of-identity identifier, for the courses that have one."""
    return dict(
        ChainOfIdentity.objects.filter(
            course_id__in=course_ids, voided_at__isnull=True
        ).values_list("course_id", "coi")
    )


def identity_for_coi(*, organisation_id: int | None, coi: str) -> ChainOfIdentity | None:
    """The treatment course (and patient) a scanned chain-of-identity identifier names."""
    return (
        ChainOfIdentity.objects.filter(
            organisation_id=organisation_id, coi=coi, voided_at__isnull=True
        )
        .select_related("patient", "course")
        .first()
    )


def custody_list(*, actor: User, dose: Dose | None = None) -> QuerySet[CustodyEvent]:
    qs = scope_processing(
        actor, CustodyEvent.objects.select_related("recorded_by", "dose", "donation")
    ).filter(voided_at__isnull=True)
    if dose is not None:
        qs = qs.filter(Q(dose=dose) | Q(donation_id=dose.lot.donation_id, dose__isnull=True))
    return qs.order_by("occurred_at", "pk")


def environment_list(*, actor: User) -> QuerySet[EnvironmentalResult]:
    return scope_processing(
        actor, EnvironmentalResult.objects.select_related("site", "lot", "deviation")
    ).filter(voided_at__isnull=True)


def culture_alert_list(*, actor: User) -> QuerySet[CultureAlert]:
    return scope_processing(actor, CultureAlert.objects.select_related("lot", "deviation"))


def near_miss_list(*, actor: User) -> QuerySet[NearMiss]:
    return scope_processing(
        actor, NearMiss.objects.select_related("patient", "dose", "recorded_by")
    )


def label_list(*, actor: User) -> QuerySet[LabelPrint]:
    return scope_processing(
        actor, LabelPrint.objects.select_related("dose", "donation", "printed_by")
    ).filter(voided_at__isnull=True)


def label_reconciliation(*, actor: User, lot: Lot | None = None) -> dict[str, int]:
    """Labels issued vs applied vs destroyed (FACT-JACIE 8th ed. label reconciliation)."""
    qs = label_list(actor=actor)
    if lot is not None:
        qs = qs.filter(dose__lot=lot)
    totals = qs.select_related(None).aggregate(
        issued=Sum("count"), applied=Sum("applied"), destroyed=Sum("destroyed")
    )
    issued, applied, destroyed = (totals[k] or 0 for k in ("issued", "applied", "destroyed"))
    return {
        "issued": issued,
        "applied": applied,
        "destroyed": destroyed,
        "unaccounted": issued - applied - destroyed,
    }


def cpc_board(*, actor: User, today: dt.date | None = None) -> dict[str, Any]:
    """The CPC's day: lots by stage, what is due today, open deviations, lots waiting for QC."""
    today = today or timezone.localdate()
    lots = list(lot_list(actor=actor).exclude(status=Lot.Status.REJECTED))
    by_stage: dict[str, list[Lot]] = {s: [] for s, _ in Lot.Status.choices}
    for lot in lots:
        by_stage[lot.status].append(lot)
    return {
        "today": today,
        "stages": [(value, label, by_stage[value]) for value, label in Lot.Status.choices],
        "due_today": [
            lot for lot in lots if lot.due_on and lot.due_on <= today and lot.status == "in_culture"
        ],
        "open_deviations": list(deviation_list(actor=actor, open_only=True)[:50]),
        "qc_pending": by_stage[Lot.Status.QC_PENDING],
        "recent_steps": list(
            scope_processing(actor, CultureStep.objects.select_related("lot"))
            .filter(voided_at__isnull=True)
            .order_by("-performed_at")[:10]
        ),
    }
