"""Reads for processing, already scoped to the actor's organisation."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from saisei.core.models import User
from saisei.core.permissions import scope_to_org
from saisei.core.prepared import PreparedObjects
from saisei.core.selectors import get_scoped, prepared_get
from saisei.core.timezones import TOKYO
from saisei.processing.models import (
    ChainOfIdentity,
    CultureAlert,
    CustodyEvent,
    Deviation,
    Donation,
    Dose,
    DoseHold,
    EnvironmentalResult,
    LabelPrint,
    Lot,
    MonitoringLimit,
    MonitoringProgramme,
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


def _for_gate(model: type[Any], related: tuple[str, ...]) -> PreparedObjects:
    """A record by organisation and external id with the relations the gate reads (prepared)."""
    return PreparedObjects(
        model,
        lambda organisation_id, external_id: model.objects.filter(
            organisation_id=organisation_id, external_id=external_id
        ),
        related=related,
        organisation_id=int,
        external_id=uuid.UUID,
    )


_DONATION_FOR_GATE = _for_gate(Donation, ("facility",))
_DOSE_FOR_GATE = _for_gate(Dose, ("lot", "lot__donation", "lot__donation__facility"))


def donation_for_gate(*, actor: User, external_id: Any) -> Donation:
    """The donation a compliance check names, within the actor's organisation."""
    return prepared_get(_DONATION_FOR_GATE, actor, external_id)


def dose_for_gate(*, actor: User, external_id: Any) -> Dose:
    """The dose a compliance check names, within the actor's organisation."""
    return prepared_get(_DOSE_FOR_GATE, actor, external_id)


def lot_list(*, actor: User, status: str | None = None) -> QuerySet[Lot]:
    qs = scope_processing(
        actor,
        Lot.objects.select_related("donation", "donation__patient").filter(voided_at__isnull=True),
    )
    if status:
        qs = qs.filter(status=status)
    # A correlated count, not a join with GROUP BY: a page of lots counts its own deviations
    # only, so LIMIT reaches the lots' index instead of aggregating every lot first.
    open_deviations = (
        Deviation.objects.filter(lot=OuterRef("pk"), voided_at__isnull=True)
        .exclude(status=Deviation.Status.CLOSED)
        .order_by()
        .values("lot")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return qs.annotate(open_deviations=Coalesce(Subquery(open_deviations), 0))


def lot_due_list(*, actor: User, day: dt.date) -> QuerySet[Lot]:
    """Lots in culture whose harvest is due on or before ``day``, the most overdue first."""
    return (
        lot_list(actor=actor, status=Lot.Status.IN_CULTURE)
        .filter(due_on__lte=day)
        .order_by("due_on", "number")
    )


def lot_get(*, actor: User, external_id: Any) -> Lot:
    return get_scoped(lot_list(actor=actor), external_id)


def lot_batch_record(*, lot: Lot) -> dict[str, Any]:
    """Everything an inspector reads for one lot, in order: donation, culture, environment, QC,
    deviations, release, doses and labels."""
    return {
        "lot": lot,
        "donation": lot.donation,
        # The facility's 標準書 and SOP versions the lot was made under (set when it started).
        "documents": list(
            lot.document_versions.select_related("facility").order_by("kind", "document_number")
        ),
        "steps": list(
            lot.steps.filter(voided_at__isnull=True)
            .select_related("performed_by")
            .order_by("performed_at", "pk")
        ),
        "environment": list(lot_environment(lot=lot).select_related("deviation", "programme")),
        "qc": list(lot.qc_results.filter(voided_at__isnull=True).select_related("recorded_by")),
        "deviations": list(
            Deviation.objects.filter(
                Q(lot=lot) | Q(donation_id=lot.donation_id), voided_at__isnull=True
            ).order_by("opened_at", "pk")
        ),
        "holds": list(
            DoseHold.objects.filter(dose__lot=lot, voided_at__isnull=True)
            .select_related("dose", "placed_by", "lifted_by")
            .order_by("-placed_at", "-pk")
        ),
        "release": getattr(lot, "release", None) if hasattr(lot, "release") else None,
        "doses": list(lot.doses.filter(voided_at__isnull=True)),
        "alerts": list(lot.culture_alerts.all()),
        "labels": list(
            LabelPrint.objects.filter(dose__lot=lot, voided_at__isnull=True).select_related(
                "dose", "printed_by"
            )
        ),
    }


def lot_environment(*, lot: Lot, until: dt.datetime | None = None) -> QuerySet[EnvironmentalResult]:
    """The environmental record of a lot's manufacture: readings linked to it, and every reading
    in its processing facility from the tissue's arrival (or the lot's start) until ``until``.

    Without a facility site on record every site of the organisation counts (the cautious side).
    """
    start = dt.datetime.combine(lot.started_on, dt.time.min, TOKYO)
    received = lot.donation.received_at
    if received is not None:
        start = min(start, received)
    during = Q(sampled_at__gte=start)
    if until is not None:
        during &= Q(sampled_at__lte=until)
    facility = lot.donation.facility
    if facility is not None and facility.site_id is not None:
        during &= Q(site_id=facility.site_id)
    return EnvironmentalResult.objects.filter(
        Q(lot=lot) | during, organisation_id=lot.organisation_id, voided_at__isnull=True
    ).order_by("sampled_at", "pk")


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
    # The gate reads the bag's donation and its facility: joined here, not loaded one by one.
    qs = dose_list(actor=actor).filter(din=ids.din).select_related("lot__donation__facility")
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
        actor,
        EnvironmentalResult.objects.select_related("site", "lot", "deviation", "programme"),
    ).filter(voided_at__isnull=True)


def programme_list(*, actor: User) -> QuerySet[MonitoringProgramme]:
    """Every programme version with its limits (two queries whatever the number of versions)."""
    return (
        scope_processing(
            actor,
            MonitoringProgramme.objects.select_related("site", "prepared_by", "approved_by"),
        )
        .filter(voided_at__isnull=True)
        .prefetch_related(
            Prefetch(
                "limits",
                queryset=MonitoringLimit.objects.filter(voided_at__isnull=True).order_by(
                    "parameter"
                ),
            )
        )
        .order_by("site__name", "room", "-version")
    )


def programme_get(*, actor: User, external_id: Any) -> MonitoringProgramme:
    return get_scoped(programme_list(actor=actor), external_id)


def programmes_in_force(*, actor: User, day: dt.date | None = None) -> list[MonitoringProgramme]:
    """The approved version in force today for each room (latest start on or before the day)."""
    day = day or timezone.localdate()
    current: dict[tuple[int, str], MonitoringProgramme] = {}
    for programme in programme_list(actor=actor).filter(
        status=MonitoringProgramme.Status.APPROVED, effective_from__lte=day
    ):
        key = (programme.site_id, programme.room)
        best = current.get(key)
        if best is None or (programme.effective_from, programme.version) > (
            best.effective_from,
            best.version,
        ):
            current[key] = programme
    return sorted(current.values(), key=lambda p: (p.site.name, p.room))


def hold_list(*, actor: User, active_only: bool = True) -> QuerySet[DoseHold]:
    qs = scope_processing(
        actor,
        DoseHold.objects.select_related(
            "dose", "dose__lot", "dose__patient", "placed_by", "lifted_by"
        ),
    ).filter(voided_at__isnull=True)
    return qs.filter(lifted_at__isnull=True) if active_only else qs


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


BOARD_ROWS = 20
"""At most this many rows per list on the CPC board; each list links to its full, paged list."""


@dataclass(frozen=True)
class BoardList:
    """One bounded list on the CPC board: its first rows and whether more exist."""

    rows: list[Any]
    more: bool

    @property
    def count_text(self) -> str:
        return f"{len(self.rows)}+" if self.more else str(len(self.rows))


def _stage_order(status: str) -> tuple[str, str]:
    # Both orders walk the index lot_org_stage_list_idx (one forwards, one backwards).
    if status == Lot.Status.RELEASED:
        return ("-started_on", "number")
    return ("started_on", "-number")


def _bounded(qs: QuerySet) -> BoardList:
    rows = list(qs[: BOARD_ROWS + 1])
    return BoardList(rows=rows[:BOARD_ROWS], more=len(rows) > BOARD_ROWS)


def cpc_board(*, actor: User, today: dt.date | None = None) -> dict[str, Any]:
    """The CPC's day: lots by stage, what is due today, open deviations, lots waiting for QC.

    Every list is bounded (``BOARD_ROWS``) and says whether more exist: work that waits (in
    culture, QC, quarantine, conditional release) oldest first, released lots newest first, lots
    due by their due date, deviations newest first. So the page costs the same few queries
    whatever the size of the organisation; the full lists are the paged lot and deviation pages.
    """
    today = today or timezone.localdate()
    stages = [
        (value, label, _bounded(lot_list(actor=actor, status=value).order_by(*_stage_order(value))))
        for value, label in Lot.Status.choices
        if value != Lot.Status.REJECTED
    ]
    by_value = {value: lots for value, _label, lots in stages}
    return {
        "today": today,
        "stages": stages,
        "due_today": _bounded(lot_due_list(actor=actor, day=today)),
        "open_deviations": _bounded(deviation_list(actor=actor, open_only=True)),
        "qc_pending": by_value[Lot.Status.QC_PENDING],
        "any_lots": any(lots.rows for lots in by_value.values()),
        "board_rows": BOARD_ROWS,
    }


# --- donors: their own scope (physician, CPC, QA); recipients' views never read these ----------


def donor_list(*, actor: User) -> QuerySet:
    from saisei.processing.models import Donor
    from saisei.processing.permissions import scope_donors

    return scope_donors(actor, Donor.objects.select_related("plan")).prefetch_related("links")


def donor_get(*, actor: User, external_id: Any) -> Any:
    return get_scoped(donor_list(actor=actor), external_id)


def donor_for_link(*, actor: User, external_id: Any) -> Any:
    """The donor a harvest names, by id within the organisation: whoever records the harvest may
    name the donor without being shown who the donor is."""
    from saisei.core.permissions import scope_to_org
    from saisei.processing.models import Donor

    return get_scoped(scope_to_org(actor, Donor.objects.all()), external_id)


# --- for other apps ------------------------------------------------------------------------
# Other apps reach processing records through these (import contract "processing-models").
# ``doses_of_organisation`` is scoped to the actor's organisation only and keeps voided rows:
# the calling app applies its own role rule and filters, as it did on the model. The others
# read by keys the caller already holds from its own scoped reads.


def doses_of_organisation(*, actor: User) -> QuerySet[Dose]:
    return scope_to_org(actor, Dose.objects.all())


def dose_by_pk(*, pk: int | None) -> Dose:
    """A bag with its lot, donation and facility (the bag a stored bedside check names)."""
    return Dose.objects.select_related("lot__donation__facility").get(pk=pk)


def doses_locked(*, pks: list[int]) -> dict[int, Dose]:
    """Row-lock these bags in key order inside the caller's transaction, with lot and
    donation; a hold or recall that commits first is seen, a later one waits."""
    return {
        d.pk: d
        for d in Dose.objects.select_for_update()
        .select_related("lot", "lot__donation")
        .filter(pk__in=pks)
        .order_by("pk")
    }


def dose_locked(*, pk: int | None) -> Dose:
    """Row-lock one bag inside the caller's transaction, with lot and donation (concurrent
    attempts to give it wait here and then see it given)."""
    return Dose.objects.select_for_update().select_related("lot", "lot__donation").get(pk=pk)


def live_doses_of_lot(*, lot_id: int) -> QuerySet[Dose]:
    """Every live dose of a lot with its patient, in sequence (where the lot's bags are)."""
    return (
        Dose.objects.filter(lot_id=lot_id, voided_at__isnull=True)
        .select_related("patient")
        .order_by("sequence")
    )


def latest_donation_plan(*, patient_id: int) -> Any | None:
    """The provision plan of the patient's newest live harvest that names one, or None."""
    donation = (
        Donation.objects.filter(patient_id=patient_id, voided_at__isnull=True, plan__isnull=False)
        .select_related("plan")
        .order_by("-collected_at")
        .first()
    )
    return donation.plan if donation is not None else None
