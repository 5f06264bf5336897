"""Donations: record a harvest, bind it to a course, record its infection markers."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from saisei.core.api_support import ERROR_RESPONSES, ApiDateTime
from saisei.processing import selectors, services

from .common import _course, _facility, _patient, _physician, _plan, _site, _user

router = Router()


class DonationIn(Schema):
    """A harvest for one treatment course, whose plan it runs under (a stated plan must be the
    course's). The compliance gate checks that plan, the performing physician, facility, cell
    source and the patient's diagnosis; anything left out is refused with the gate's rule (422)."""

    patient: uuid.UUID
    course: uuid.UUID | None = Field(
        None, description="the treatment course the harvest is for (required; 422 without it)"
    )
    site: uuid.UUID
    plan: uuid.UUID | None = None
    physician: uuid.UUID | None = Field(None, description="The physician who performs the harvest")
    facility: uuid.UUID | None = Field(None, description="The cell processing facility")
    cell_source: Literal["autologous", "allogeneic", "xenogeneic"] | None = None
    harvest_site: str = Field(..., max_length=100)
    tissue_weight_g: float
    container: str = Field(..., max_length=200)
    collected_at: ApiDateTime | None = None
    transport_conditions: str = Field("", max_length=300)
    infection_markers: dict[str, str] = {}
    notes: str = ""
    donor: uuid.UUID | None = Field(
        None,
        description="the donor (allogeneic plans only: required, eligible and consented; an "
        "autologous plan refuses one, 422)",
    )


class MarkersIn(Schema):
    results: dict[str, str]


class DonationOut(Schema):
    external_id: uuid.UUID
    din: str
    din_flags: str
    coi: str
    course: uuid.UUID | None
    patient: uuid.UUID
    patient_code: str
    harvest_site: str
    tissue_weight_g: float
    collected_at: dt.datetime
    container: str
    transport_conditions: str
    infection_markers: dict[str, str]
    markers_missing: list[str]
    plan: uuid.UUID | None
    physician: uuid.UUID | None
    facility: uuid.UUID | None
    cell_source: str

    @staticmethod
    def resolve_patient(obj: Any) -> uuid.UUID:
        return obj.patient.external_id

    @staticmethod
    def resolve_plan(obj: Any) -> uuid.UUID | None:
        return obj.plan.external_id if obj.plan_id else None

    @staticmethod
    def resolve_physician(obj: Any) -> uuid.UUID | None:
        return obj.physician.external_id if obj.physician_id else None

    @staticmethod
    def resolve_facility(obj: Any) -> uuid.UUID | None:
        return obj.facility.external_id if obj.facility_id else None

    @staticmethod
    def resolve_patient_code(obj: Any) -> str:
        return obj.patient.patient_code

    @staticmethod
    def resolve_course(obj: Any) -> uuid.UUID | None:
        return obj.course.external_id if obj.course_id else None

    @staticmethod
    def resolve_markers_missing(obj: Any) -> list[str]:
        status = services.markers_status(donation=obj)
        return status["missing"] + status["pending"]


@router.post("/processing/donations", response={201: DonationOut, **ERROR_RESPONSES})
def donation_create(request: HttpRequest, payload: DonationIn) -> Status:
    actor = _user(request)
    donation = services.donation_record(
        actor=actor,
        patient=_patient(actor, payload.patient),
        course=_course(actor, payload.course),
        site=_site(actor, payload.site),
        plan=_plan(actor, payload.plan),
        physician=_physician(actor, payload.physician),
        facility=_facility(actor, payload.facility),
        cell_source=payload.cell_source or "",
        harvest_site=payload.harvest_site,
        tissue_weight_g=payload.tissue_weight_g,
        container=payload.container,
        collected_at=payload.collected_at,
        transport_conditions=payload.transport_conditions,
        infection_markers=payload.infection_markers,
        notes=payload.notes,
        donor=(
            selectors.donor_for_link(actor=actor, external_id=payload.donor)
            if payload.donor
            else None
        ),
    )
    return Status(201, donation)


@router.get("/processing/donations/{external_id}", response={200: DonationOut, **ERROR_RESPONSES})
def donation_detail(request: HttpRequest, external_id: str) -> Any:
    return selectors.donation_get(actor=_user(request), external_id=external_id)


class CourseBindIn(Schema):
    course: uuid.UUID
    reason: str = Field(..., max_length=1000)


@router.post(
    "/processing/donations/{external_id}/course",
    response={200: DonationOut, **ERROR_RESPONSES},
    summary="Bind a harvest recorded before course binding to its treatment course (QA)",
)
def donation_course_bind(request: HttpRequest, external_id: str, payload: CourseBindIn) -> Any:
    actor = _user(request)
    donation = selectors.donation_get(actor=actor, external_id=external_id)
    course = _course(actor, payload.course)
    return services.donation_course_bind(
        actor=actor, donation=donation, course=course, reason=payload.reason
    )


@router.post(
    "/processing/donations/{external_id}/markers", response={200: DonationOut, **ERROR_RESPONSES}
)
def donation_markers(request: HttpRequest, external_id: str, payload: MarkersIn) -> Any:
    donation = selectors.donation_get(actor=_user(request), external_id=external_id)
    return services.donation_markers_record(
        actor=_user(request), donation=donation, results=payload.results
    )
