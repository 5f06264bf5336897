"""treatment API: bedside verification, administrations and vital signs under /api/v1/."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, Router, Schema

from saisei.core.api_support import ERROR_RESPONSES, ApiDateTime, Page, paginate
from saisei.core.errors import ValidationFailed
from saisei.core.models import User
from saisei.core.permissions import staff_user
from saisei.core.selectors import get_scoped
from saisei.treatment import selectors, services
from saisei.treatment.models import Administration, VitalSign

router = Router(tags=["treatment"])


_actor = staff_user  # the signed-in staff user (login is required)


class CheckOut(Schema):
    code: str
    passed: bool
    message: str


class BedsideVerifyIn(Schema):
    patient_scan: str = Field(..., max_length=500)
    product_scans: list[str] = Field(..., max_length=10)
    course_step: UUID
    route: str = Field(..., max_length=20)


class BedsideVerifyOut(Schema):
    ok: bool
    checks: list[CheckOut]
    verification: UUID


def _course_step(actor: User, external_id: Any) -> Any:
    from saisei.journey.selectors import course_steps_of_organisation

    qs = (
        course_steps_of_organisation(actor=actor)
        .filter(voided_at__isnull=True)
        .select_related("course", "course__patient", "course__plan", "course__physician")
    )
    return get_scoped(qs, external_id)


@router.post(
    "/bedside/verify",
    response={200: BedsideVerifyOut, **ERROR_RESPONSES},
    summary="Check wristband and bag scans before an infusion",
)
def bedside_verify(request: HttpRequest, payload: BedsideVerifyIn) -> Any:
    """Every check is answered; a failed verification is stored and recorded as a near-miss."""
    actor = _actor(request)
    step = _course_step(actor, payload.course_step)
    verification = services.bedside_verify(
        actor=actor,
        patient_scan=payload.patient_scan,
        product_scans=payload.product_scans,
        course_step=step,
        route=payload.route,
    )
    return {
        "ok": verification.passed,
        "checks": verification.checks,
        "verification": verification.external_id,
    }


class VitalsIn(Schema):
    measured_at: ApiDateTime | None = None
    systolic_mmhg: int | None = Field(None, ge=30, le=300)
    diastolic_mmhg: int | None = Field(None, ge=10, le=200)
    heart_rate_bpm: int | None = Field(None, ge=10, le=300)
    respiratory_rate: int | None = Field(None, ge=1, le=80)
    temperature_c: float | None = Field(None, ge=25, le=45)
    spo2_pct: int | None = Field(None, ge=0, le=100)
    notes: str = Field("", max_length=2000)


class VitalsRecordIn(VitalsIn):
    phase: str = Field(..., pattern="^(before|during|after)$")


class AdministrationIn(Schema):
    verification: UUID
    second_person_username: str = Field(..., max_length=150)
    second_person_password: str = Field(..., max_length=200)
    second_person_otp: str | None = Field(None, max_length=64)
    physician_username: str | None = Field(None, max_length=150)
    nurse_username: str | None = Field(None, max_length=150)
    cells_given: int | None = Field(None, gt=0)
    volume_ml: float | None = Field(None, gt=0)
    rate_ml_per_hour: float | None = Field(None, gt=0)
    started_at: ApiDateTime | None = None
    ended_at: ApiDateTime | None = None
    premedication: str = Field("", max_length=2000)
    observations: str = Field("", max_length=4000)
    vitals_before: VitalsIn | None = None


class AdministrationCompleteIn(Schema):
    ended_at: ApiDateTime | None = None
    observations: str = Field("", max_length=4000)
    stopped: bool = False
    stop_reason: str = Field("", max_length=2000)


class VitalOut(Schema):
    id: UUID = Field(..., alias="external_id")
    phase: str
    measured_at: dt.datetime
    systolic_mmhg: int | None
    diastolic_mmhg: int | None
    heart_rate_bpm: int | None
    respiratory_rate: int | None
    temperature_c: float | None
    spo2_pct: int | None
    notes: str


class AdministrationOut(Schema):
    id: UUID = Field(..., alias="external_id")
    patient_code: str = Field(..., alias="patient.patient_code")
    dose: str
    lot: str = Field(..., alias="dose.lot.number")
    number: int
    route: str
    cells_given: int
    cells_per_kg: float | None
    volume_ml: float
    rate_ml_per_hour: float | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    status: str
    premedication: str
    observations: str
    physician: str = Field(..., alias="physician.username")
    nurse: str | None
    second_person: str = Field(..., alias="second_person.username")

    @staticmethod
    def resolve_dose(obj: Administration) -> str:
        return f"{obj.dose.din} {obj.dose.product_code}"

    @staticmethod
    def resolve_nurse(obj: Administration) -> str | None:
        return obj.nurse.username if obj.nurse else None


class AdministrationDetailOut(AdministrationOut):
    vitals: list[VitalOut]

    @staticmethod
    def resolve_vitals(obj: Administration) -> list[VitalSign]:
        return list(obj.vitals.all())


def _staff(actor: User, username: str | None, field: str) -> User | None:
    if not username:
        return None
    user = User.objects.filter(
        username=username, organisation=actor.organisation, is_active=True
    ).first()
    if user is None:
        raise ValidationFailed(
            "unknown_staff", "No such staff member in this organisation.", {field: [username]}
        )
    return user


@router.post(
    "/treatment/administrations",
    response={201: AdministrationDetailOut, **ERROR_RESPONSES},
    summary="Record an administration after a passed bedside check (two-person)",
)
def administration_create(request: HttpRequest, payload: AdministrationIn) -> Any:
    """A second attempt on the same dose answers 409 ``dose_already_administered``."""
    actor = _actor(request)
    verification = selectors.verification_get(actor=actor, external_id=payload.verification)
    vitals = payload.vitals_before.dict(exclude_none=True) if payload.vitals_before else None
    administration = services.administration_record(
        actor=actor,
        verification=verification,
        second_person=_staff(actor, payload.second_person_username, "second_person_username"),
        second_person_password=payload.second_person_password,
        second_person_otp=payload.second_person_otp,
        physician=_staff(actor, payload.physician_username, "physician_username"),
        nurse=_staff(actor, payload.nurse_username, "nurse_username"),
        cells_given=payload.cells_given,
        volume_ml=payload.volume_ml,
        rate_ml_per_hour=payload.rate_ml_per_hour,
        started_at=payload.started_at,
        ended_at=payload.ended_at,
        premedication=payload.premedication,
        observations=payload.observations,
        vitals_before=vitals,
    )
    return 201, selectors.administration_get(actor=actor, external_id=administration.external_id)


@router.get(
    "/treatment/administrations",
    response={200: Page[AdministrationOut], **ERROR_RESPONSES},
    summary="Administrations, newest first",
)
def administration_index(
    request: HttpRequest,
    patient_code: str | None = None,
    day: dt.date | None = None,
    limit: int = 50,
    offset: int = 0,
    after: str = "",
) -> Any:
    qs = selectors.administration_list(actor=_actor(request), day=day)
    if patient_code:
        qs = qs.filter(Q(patient__patient_code=patient_code))
    return paginate(qs, limit=limit, offset=offset, after=after)


@router.get(
    "/treatment/administrations/{external_id}",
    response={200: AdministrationDetailOut, **ERROR_RESPONSES},
)
def administration_detail(request: HttpRequest, external_id: str) -> Any:
    return selectors.administration_get(actor=_actor(request), external_id=external_id)


@router.post(
    "/treatment/administrations/{external_id}/complete",
    response={200: AdministrationDetailOut, **ERROR_RESPONSES},
)
def administration_complete(
    request: HttpRequest, external_id: str, payload: AdministrationCompleteIn
) -> Any:
    actor = _actor(request)
    administration = selectors.administration_get(actor=actor, external_id=external_id)
    services.administration_complete(
        actor=actor,
        administration=administration,
        ended_at=payload.ended_at,
        observations=payload.observations,
        stopped=payload.stopped,
        stop_reason=payload.stop_reason,
    )
    return selectors.administration_get(actor=actor, external_id=external_id)


@router.post(
    "/treatment/administrations/{external_id}/vitals",
    response={201: VitalOut, **ERROR_RESPONSES},
)
def vital_create(request: HttpRequest, external_id: str, payload: VitalsRecordIn) -> Any:
    actor = _actor(request)
    administration = selectors.administration_get(actor=actor, external_id=external_id)
    data = payload.dict(exclude_none=True)
    phase = data.pop("phase")
    measured_at = data.pop("measured_at", None)
    vital = services.vital_sign_record(
        actor=actor,
        administration=administration,
        phase=phase,
        measured_at=measured_at,
        **data,
    )
    return 201, vital
