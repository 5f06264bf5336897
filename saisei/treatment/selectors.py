"""Reads for treatment, scoped to the actor's organisation, in constant queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saisei.core.models import User
from saisei.core.prepared import Prepared
from saisei.core.selectors import get_scoped
from saisei.core.timezones import TOKYO
from saisei.treatment.models import Administration, BedsideVerification, VitalSign
from saisei.treatment.permissions import can_view_treatment, scope_treatment

_GIVEN = Prepared(
    lambda patient_id, plan_id: (
        Administration.objects.filter(
            patient_id=patient_id, plan_id=plan_id, voided_at__isnull=True
        )
        .order_by()
        .values("plan_id")
        .annotate(n=Count("pk"))
        .values_list("n", flat=True)
    ),
    patient_id=int,
    plan_id=int,
)


def administrations_given(*, patient_id: int, plan_id: int) -> int:
    """How many administrations this patient has had under this plan (cross-app contract: gate).

    One prepared query (the gate's hot path, decision 0036); no row means none given."""
    return int(_GIVEN.first(patient_id=patient_id, plan_id=plan_id) or 0)


def administrations_given_by_patient(*, patient_ids: Iterable[int], plan_id: int) -> dict[int, int]:
    """``administrations_given`` for many patients in one query (cohort pages); absent means 0."""
    return dict(
        Administration.objects.filter(
            patient_id__in=patient_ids, plan_id=plan_id, voided_at__isnull=True
        )
        .values("patient_id")
        .annotate(n=Count("id"))
        .values_list("patient_id", "n")
    )


def administration_list(
    *, actor: User, patient_id: int | None = None, day: dt.date | None = None
) -> QuerySet[Administration]:
    # The people and the course step come by primary key in their own queries: joined, they made
    # PostgreSQL plan an eight-table join for every page (15 ms of planning for a 1 ms read).
    qs = scope_treatment(
        actor,
        Administration.objects.select_related("patient", "dose", "dose__lot")
        .prefetch_related("physician", "nurse", "second_person", "course_step")
        .filter(voided_at__isnull=True),
    )
    if patient_id is not None:
        qs = qs.filter(patient_id=patient_id)
    if day is not None:
        start = dt.datetime.combine(day, dt.time.min, tzinfo=TOKYO)
        qs = qs.filter(started_at__gte=start, started_at__lt=start + dt.timedelta(days=1))
    return qs


def administration_get(*, actor: User, external_id: Any) -> Administration:
    qs = administration_list(actor=actor).prefetch_related(
        Prefetch(
            "vitals",
            queryset=VitalSign.objects.filter(voided_at__isnull=True).select_related("recorded_by"),
        )
    )
    return get_scoped(qs.select_related("verification", "plan"), external_id)


def verification_list(*, actor: User, passed: bool | None = None) -> QuerySet:
    qs = scope_treatment(
        actor,
        BedsideVerification.objects.select_related("patient", "dose", "performed_by"),
    )
    if passed is not None:
        qs = qs.filter(passed=passed)
    return qs


def verification_get(*, actor: User, external_id: Any) -> BedsideVerification:
    return get_scoped(
        verification_list(actor=actor).select_related("course_step", "course_step__course"),
        external_id,
    )


def infusion_steps_for_day(*, actor: User, day: dt.date | None = None) -> QuerySet[Any]:
    """The day's infusion steps in the actor's organisation, by patient code, with their patient,
    physician and live administrations (a queryset, so a page of them can be read)."""
    from saisei.journey.selectors import course_steps_of_organisation
    from saisei.treatment.permissions import can_view_treatment

    day = day or timezone.localdate(timezone=TOKYO)
    qs = (
        course_steps_of_organisation(actor=actor)
        .filter(kind="infusion", planned_date=day, voided_at__isnull=True)
        .exclude(status="cancelled")
        .select_related("course", "course__patient", "course__physician")
        .prefetch_related(
            Prefetch(
                "administrations",
                queryset=Administration.objects.filter(voided_at__isnull=True),
                to_attr="given",
            )
        )
        .order_by("course__patient__patient_code", "number")
    )
    return qs if can_view_treatment(actor) else qs.none()


def infusion_rows(steps: Iterable[Any]) -> list[dict[str, Any]]:
    """Each step of ``infusion_steps_for_day`` with its patient, physician and administration."""
    return [
        {
            "step": s,
            "patient": s.course.patient,
            "physician": s.course.physician,
            "administration": s.given[0] if s.given else None,
        }
        for s in steps
    ]


def demo_scan_codes(*, actor: User, step: Any) -> dict[str, Any] | None:
    """What the demo's wristband and bag labels carry, for a step's bedside check.

    Demo mode only (no printed labels on a laptop): the patient code and, for each of the
    course's bags with this infusion's number that can still be given, the text its barcode
    scans as and whether its thaw is recorded yet. ``None`` in production.
    """
    from django.conf import settings

    from saisei.processing.selectors import doses_of_organisation

    if settings.PRODUCTION or not can_view_treatment(actor):
        return None
    patient = step.course.patient
    bags = (
        doses_of_organisation(actor=actor)
        .filter(
            patient=patient,
            lot__donation__course=step.course,
            sequence=step.number,
            status__in=["released", "shipped", "received", "thawed"],
        )
        .select_related("lot", "lot__donation")
        .order_by("pk")
    )
    return {
        "wristband": patient.patient_code,
        "bags": [
            {
                "dose": bag,
                "scan": f"={bag.din}{bag.lot.donation.din_flags}=<{bag.product_code}",
                "thawed": bag.thawed_at is not None,
            }
            for bag in bags
        ],
    }


def scan_names_identity(*, scan_text: str) -> bool:
    """Whether a scan carries a valid chain-of-identity identifier (a wristband bar code)."""
    from saisei.processing.selectors import scanned_ids

    return bool(scanned_ids(scan_text=scan_text).coi)


def label_scan_problems(*, scan_text: str) -> list[str]:
    """Why a bag-label entry cannot be read (each structure's first error), or nothing.

    A label must give a usable DIN; the product code beside it is read when present.
    """
    from saisei.processing.isbt128 import parse_scan

    result = parse_scan(scan_text)
    problems = [str(s.errors[0].message()) for s in result.structures if s.errors]
    if not problems and not any(s.type == "din" for s in result.structures):
        problems.append(
            str(
                _(
                    "A bag label needs its DIN. Expected the bar code, or the DIN printed with its "
                    "check character, e.g. A9999 26 000001 K, then the product code."
                )
            )
        )
    return problems
