"""Reads for the patient journey, scoped to the actor's organisation, plus the gate's consent lookup."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from saisei.core.errors import Forbidden
from saisei.core.models import User
from saisei.core.permissions import scope_to_org
from saisei.core.prepared import Prepared, PreparedObjects
from saisei.core.selectors import get_scoped, prepared_get

from . import permissions as perms
from .models import (
    Consent,
    ConsentDocument,
    CourseStep,
    Inquiry,
    InquiryFile,
    Itinerary,
    Patient,
    PortalAccess,
    Prescreen,
    PriceList,
    Quote,
    TreatmentCourse,
    TreatmentPackage,
)
from .permissions import scope_journey

_CONSENT_FOR_GATE = Prepared(
    lambda patient_id, plan_version_id, at: (
        Consent.objects.filter(
            patient_id=patient_id,
            plan_version_id=plan_version_id,
            voided_at__isnull=True,
            signed_at__lte=at,
        )
        .order_by("-signed_at", "-pk")
        .values_list("withdrawn_at")[:1]
    ),
    patient_id=int,
    plan_version_id=int,
    at=dt.datetime,
)


def consent_status_for_gate(
    *, patient_id: int, plan_version_id: int, at: dt.datetime | None
) -> str:
    """Consent for the compliance gate (ASRM Art. 14): "valid", "missing" or "withdrawn" at `at`.

    The latest consent signed on or before `at` for this plan version decides; a voided consent
    counts as never given, and a withdrawal on or before `at` makes it "withdrawn". One prepared
    query (the gate's hot path, decision 0036).
    """
    at = at or timezone.now()
    consent = _CONSENT_FOR_GATE.first(patient_id=patient_id, plan_version_id=plan_version_id, at=at)
    if consent is None:
        return "missing"
    (withdrawn_at,) = consent
    if withdrawn_at is not None and withdrawn_at <= at:
        return "withdrawn"
    return "valid"


_INDICATION_FOR_GATE = Prepared(
    lambda patient_id: Patient.objects.filter(pk=patient_id, voided_at__isnull=True).values_list(
        "diagnosis_code", flat=True
    )[:1],
    patient_id=int,
)


def patient_indication_for_gate(*, patient_id: int) -> str:
    """The patient's coded diagnosis for the compliance gate ("" when none is on record)."""
    return _INDICATION_FOR_GATE.first(patient_id=patient_id) or ""


@dataclass(frozen=True)
class RecordedStage:
    """The disease stage recorded for a patient: the pre-screen that staged them, and how."""

    patient_id: int
    stage: str  # a journey.prescreen.STAGES code, e.g. "mci", "mild", "moderate"
    scheme: str  # the staging scheme's name, e.g. "CDR global score"
    recorded_on: dt.date


_PATIENT_FOR_GATE = PreparedObjects(
    Patient,
    lambda organisation_id, external_id: Patient.objects.filter(
        organisation_id=organisation_id, external_id=external_id
    ),
    organisation_id=int,
    external_id=uuid.UUID,
)


def patient_for_gate(*, actor: User, external_id: Any) -> Patient:
    """The patient a compliance check names, within the actor's organisation (prepared query)."""
    return prepared_get(_PATIENT_FOR_GATE, actor, external_id)


def patient_recorded_stages(*, patient_ids: Iterable[int]) -> dict[int, RecordedStage]:
    """Each patient's stage from their latest pre-screen that recorded one (cross-app contract).

    A pre-screen without a test score has no stage; a patient with none is simply absent, and
    callers must then make no stage-dependent claim. One query whatever the number of patients.
    """
    ids = list(patient_ids)
    out: dict[int, RecordedStage] = {}
    if not ids:
        return out
    rows = (
        Prescreen.objects.filter(patient_id__in=ids, voided_at__isnull=True)
        .exclude(stage="")
        .order_by("patient_id", "-created_at", "-pk")
        .values_list("patient_id", "stage", "staging_scheme", "created_at")
    )
    for patient_id, stage, scheme, created in rows:
        if patient_id not in out:
            out[patient_id] = RecordedStage(
                patient_id=patient_id,
                stage=stage,
                scheme=scheme,
                recorded_on=timezone.localdate(created),
            )
    return out


def patient_has_withdrawn(*, patient_id: int, at: dt.datetime | None = None) -> bool:
    """True when the patient's latest consent (any plan version) is withdrawn: stop further steps."""
    at = at or timezone.now()
    latest = (
        Consent.objects.filter(patient_id=patient_id, voided_at__isnull=True, signed_at__lte=at)
        .order_by("-signed_at", "-pk")
        .first()
    )
    return bool(latest and latest.withdrawn_at and latest.withdrawn_at <= at)


# --- inquiries ------------------------------------------------------------------------------


def courses_on_plan(*, plan_id: int) -> list[TreatmentCourse]:
    """Every live course on a provision plan with its patient, by patient code (cohort analysis)."""
    return list(course_rows_on_plan(plan_id=plan_id).order_by("patient__patient_code", "id"))


def course_rows_on_plan(*, plan_id: int) -> QuerySet[TreatmentCourse]:
    """A plan's live courses with their patients in the order they enrolled, as a query: the
    cohort page reads a page of them over ``course_plan_live_idx``."""
    return (
        TreatmentCourse.objects.filter(plan_id=plan_id, voided_at__isnull=True)
        .select_related("patient")
        # Only what the cohort reads: a national plan has a hundred thousand courses.
        .only(
            "id",
            "plan_id",
            "status",
            "stopped_at",
            "stop_reason",
            "patient__id",
            "patient__external_id",
            "patient__patient_code",
            "patient__status",
        )
        .order_by("id")
    )


def patient_ids_on_plan(*, plan_id: int) -> QuerySet[TreatmentCourse, int]:
    """The patients with a live course on the plan, as a subquery for other apps' filters
    (``patient_id__in``), so a cohort's patients never travel to the database as a list."""
    return TreatmentCourse.objects.filter(plan_id=plan_id, voided_at__isnull=True).values_list(
        "patient_id", flat=True
    )


def inquiry_list(
    *, actor: User, status: str | None = None, q: str = "", file_counts: bool = False
) -> QuerySet[Inquiry]:
    """The inquiry queue, newest first; ``file_counts`` adds ``file_count`` (uploads of each)."""
    qs = scope_journey(actor, Inquiry.objects.filter(voided_at__isnull=True)).select_related(
        "assigned_to"
    )
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(
            Q(reference__icontains=q) | Q(patient_name__icontains=q) | Q(contact_name__icontains=q)
        )
    if file_counts:
        # A correlated count per inquiry of the page, not a join with GROUP BY over every inquiry.
        files = (
            InquiryFile.objects.filter(inquiry=OuterRef("pk"))
            .order_by()
            .values("inquiry")
            .annotate(n=Count("pk"))
            .values("n")
        )
        qs = qs.annotate(file_count=Coalesce(Subquery(files), 0))
    return qs.order_by("-created_at")


def inquiry_get(*, actor: User, external_id: Any) -> Inquiry:
    return get_scoped(inquiry_list(actor=actor).prefetch_related("files"), external_id)


def inquiry_file_get(*, actor: User, inquiry_id: Any, external_id: Any) -> InquiryFile:
    """One uploaded record of an inquiry of the actor's organisation, for roles that work
    inquiries (the family's medical records; readers of the journey without that role see 403)."""
    inquiry = get_scoped(inquiry_list(actor=actor), inquiry_id)
    if not perms.can_open_inquiry_records(actor):
        raise Forbidden()
    return get_scoped(
        InquiryFile.objects.filter(inquiry=inquiry, voided_at__isnull=True), external_id
    )


# --- patients -------------------------------------------------------------------------------


def patient_list(*, actor: User, q: str = "") -> QuerySet[Patient]:
    qs = scope_journey(actor, Patient.objects.filter(voided_at__isnull=True)).select_related(
        "inquiry"
    )
    if q:
        qs = qs.filter(
            Q(patient_code__icontains=q) | Q(family_name__icontains=q) | Q(given_name__icontains=q)
        )
    return qs.order_by("patient_code")


def patient_get(*, actor: User, external_id: Any) -> Patient:
    return get_scoped(patient_list(actor=actor).prefetch_related("proxies"), external_id)


# --- quotes, consents, courses ---------------------------------------------------------------


def quote_list(*, actor: User, patient: Patient | None = None) -> QuerySet[Quote]:
    qs = scope_journey(actor, Quote.objects.filter(voided_at__isnull=True)).select_related(
        "patient", "plan", "price_list"
    )
    if patient is not None:
        qs = qs.filter(patient=patient)
    return qs.order_by("-created_at")


def quote_get(*, actor: User, external_id: Any) -> Quote:
    return get_scoped(
        quote_list(actor=actor)
        .select_related("plan__institution", "plan_version", "facilitator")
        .prefetch_related("lines"),
        external_id,
    )


def price_list_list(*, actor: User) -> QuerySet[PriceList]:
    return scope_journey(actor, PriceList.objects.filter(voided_at__isnull=True)).select_related(
        "institution"
    )


def consent_document_list(*, actor: User, plan_version_id: int | None = None) -> QuerySet:
    qs = scope_journey(actor, ConsentDocument.objects.filter(voided_at__isnull=True))
    if plan_version_id:
        qs = qs.filter(plan_version_id=plan_version_id)
    return qs.select_related("plan_version__plan")


def consent_list(*, actor: User, patient: Patient | None = None) -> QuerySet[Consent]:
    qs = scope_journey(actor, Consent.objects.filter(voided_at__isnull=True)).select_related(
        "patient", "document", "plan_version__plan", "proxy", "explained_by"
    )
    if patient is not None:
        qs = qs.filter(patient=patient)
    return qs.order_by("-signed_at")


def consent_get(*, actor: User, external_id: Any) -> Consent:
    return get_scoped(consent_list(actor=actor), external_id)


def course_list(*, actor: User, patient: Patient | None = None) -> QuerySet[TreatmentCourse]:
    qs = scope_journey(actor, TreatmentCourse.objects.filter(voided_at__isnull=True))
    if patient is not None:
        qs = qs.filter(patient=patient)
    return qs.select_related("patient", "plan", "physician", "facility").prefetch_related(
        Prefetch("steps", queryset=CourseStep.objects.filter(voided_at__isnull=True))
    )


def course_get(*, actor: User, external_id: Any) -> TreatmentCourse:
    return get_scoped(course_list(actor=actor), external_id)


def prescreen_get(*, actor: User, external_id: Any) -> Prescreen:
    """One pre-screening in the actor's scope; outside it answers 404 like an unknown id."""
    return get_scoped(
        scope_journey(actor, Prescreen.objects.select_related("patient", "decided_by")),
        external_id,
    )


def prescreen_list(*, actor: User, patient: Patient) -> QuerySet[Prescreen]:
    return scope_journey(actor, Prescreen.objects.filter(patient=patient, voided_at__isnull=True))


def itinerary_current(*, patient: Patient) -> Itinerary | None:
    return (
        Itinerary.objects.filter(patient=patient, is_current=True, voided_at__isnull=True)
        .order_by("-version")
        .first()
    )


# --- for other apps ------------------------------------------------------------------------
# Other apps reach journey records through these (import contract "journey-models"). They are
# scoped to the actor's organisation only (an actor without one sees nothing) and keep voided
# rows: the calling app applies its own role rule and filters, as it did on the model.


def patients_of_organisation(*, actor: User) -> QuerySet[Patient]:
    return scope_to_org(actor, Patient.objects.all())


def courses_of_organisation(*, actor: User) -> QuerySet[TreatmentCourse]:
    return scope_to_org(actor, TreatmentCourse.objects.all())


def course_steps_of_organisation(*, actor: User) -> QuerySet[CourseStep]:
    return scope_to_org(actor, CourseStep.objects.all())


def latest_course_of_patient(*, patient: Patient) -> TreatmentCourse | None:
    """The patient's newest live course with its plan (the plan an event falls under)."""
    return (
        TreatmentCourse.objects.filter(patient=patient, voided_at__isnull=True)
        .select_related("plan")
        .order_by("-created_at")
        .first()
    )


def courses_of_live_patients() -> QuerySet[TreatmentCourse]:
    """Live courses of live patients with the patient (members of a plan's FHIR Group)."""
    return TreatmentCourse.objects.filter(
        voided_at__isnull=True, patient__voided_at__isnull=True
    ).select_related("patient")


def lock_patients(*, pks: Iterable[int | None]) -> None:
    """Row-lock these patients in key order, inside the caller's transaction (every act on a
    patient takes its locks in this order, so two acts cannot deadlock)."""
    list(
        Patient.objects.select_for_update()
        .filter(pk__in=sorted({pk for pk in pks if pk is not None}))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def inquiries_of_organisation(*, actor: User) -> QuerySet[Inquiry]:
    return scope_to_org(actor, Inquiry.objects.all())


def packages_of_organisation(*, actor: User) -> QuerySet[TreatmentPackage]:
    return scope_to_org(actor, TreatmentPackage.objects.all())


def price_lists_of_organisation(*, actor: User) -> QuerySet[PriceList]:
    return scope_to_org(actor, PriceList.objects.all())


def inquiry_choices(name: str) -> set[str]:
    """The stored values an inquiry field accepts (empty for a field without choices); for an
    app that receives inquiry values from elsewhere and must refuse unknown ones."""
    field = Inquiry._meta.get_field(name)
    return {c for c, _label in getattr(field, "choices", None) or []}


def portal_access_of_session(*, pk: int) -> PortalAccess:
    """The portal access a family session was opened with (not scoped: the portal has no staff
    actor; the caller has already resolved the session's patient through journey's portal)."""
    return PortalAccess.objects.get(pk=pk)
