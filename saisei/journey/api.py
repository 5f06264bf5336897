"""journey API: itinerary preview, inquiries, patients, quotes (with PDF), consents and courses.

Paths carry their own prefix (the router is mounted at /api/v1/). Input and output schemas are
separate per operation; refusals are DomainErrors mapped to the one error shape by core.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from saisei.core.access_log import API, access_log_record
from saisei.core.api_support import ERROR_RESPONSES, Language, Page, PageQuery, page_of
from saisei.core.errors import Forbidden, NotFound
from saisei.core.permissions import can_use_calculators
from saisei.core.selectors import get_scoped

from . import permissions as perms
from . import selectors, services
from .views._helpers import AuthedRequest

router = Router(tags=["journey"])


# --- itinerary preview --------------------------------------------------------------------------


class ItineraryPreviewIn(Schema):
    earliest_arrival: dt.date
    latest_return: dt.date
    culture_days: int = Field(..., ge=0, le=365)
    infusions: int = Field(..., ge=1, le=50)
    interval_days: int = Field(..., ge=1, le=365)
    max_stay_days: int = Field(..., ge=1, le=366)
    institution: str | None = None


class VisitOut(Schema):
    date: dt.date
    kind: Literal["consultation", "harvest", "infusion", "assessment"]
    sequence: int


class TripOut(Schema):
    arrive: dt.date
    depart: dt.date
    nights: int
    visits: list[VisitOut]


class ExplanationOut(Schema):
    code: str
    date: dt.date | None = None
    message: str


class ItineraryPreviewOut(Schema):
    trips: list[TripOut]
    explanations: list[ExplanationOut]
    total_nights: int
    release_date: dt.date | None


@router.post("/journey/itinerary-preview", response={200: ItineraryPreviewOut, **ERROR_RESPONSES})
def itinerary_preview(request: AuthedRequest, payload: ItineraryPreviewIn) -> dict[str, Any]:
    """Propose trips and visit dates, or answer 422 naming the constraint that cannot be met."""
    from . import planning

    if not can_use_calculators(request.user):
        raise Forbidden()
    institution = None
    if payload.institution:
        from saisei.regulatory.selectors import institutions_of_organisation

        institution = get_scoped(
            institutions_of_organisation(actor=request.user), payload.institution
        )
    data = payload.dict(exclude={"institution"})
    _req, itinerary = planning.plan(data, institution=institution)
    return itinerary.as_dict()


# --- inquiries -----------------------------------------------------------------------------------


class InquiryOut(Schema):
    external_id: uuid.UUID
    reference: str
    status: str
    language: str
    created_at: dt.datetime
    contact_name: str
    contact_email: str
    patient_name: str
    patient_family_name: str
    patient_given_name: str
    patient_name_native: str
    patient_name_reading: str
    country: str
    diagnosis: str
    diagnosis_when: str
    cognitive_scores: str
    mobility: str
    legal_proxy: str
    travel_windows: str
    privacy_notice_version: str
    privacy_consent_at: dt.datetime
    files: int = 0

    @staticmethod
    def resolve_files(obj: Any) -> int:
        return getattr(obj, "file_count", None) or 0


class InquiryFilter(PageQuery):
    status: str | None = None
    q: str = ""


class InquiryStatusIn(Schema):
    status: str
    note: str = ""


@router.get("/journey/inquiries", response={200: Page[InquiryOut], **ERROR_RESPONSES})
def inquiry_list(request: AuthedRequest, filters: Query[InquiryFilter]) -> dict[str, Any]:
    qs = selectors.inquiry_list(
        actor=request.user, status=filters.status, q=filters.q, file_counts=True
    )
    return page_of(qs, filters)


@router.get("/journey/inquiries/{external_id}", response={200: InquiryOut, **ERROR_RESPONSES})
def inquiry_get(request: AuthedRequest, external_id: str) -> Any:
    obj = selectors.inquiry_get(actor=request.user, external_id=external_id)
    obj.file_count = len(obj.files.all())  # type: ignore[attr-defined]
    return obj


@router.post(
    "/journey/inquiries/{external_id}/status", response={200: InquiryOut, **ERROR_RESPONSES}
)
def inquiry_status(request: AuthedRequest, external_id: str, payload: InquiryStatusIn) -> Any:
    obj = selectors.inquiry_get(actor=request.user, external_id=external_id)
    return services.inquiry_status_change(
        actor=request.user, inquiry=obj, status=payload.status, note=payload.note
    )


# --- patients ------------------------------------------------------------------------------------


class ProxyIn(Schema):
    name: str = Field(..., max_length=200)
    relationship: str = Field("", max_length=100)
    authority: str = Field("", max_length=200)
    email: str = ""
    phone: str = ""


class PatientIn(Schema):
    family_name: str = Field(..., min_length=1, max_length=100)
    given_name: str = Field(..., min_length=1, max_length=100)
    date_of_birth: dt.date
    sex: Literal["female", "male", "other", "unknown"]
    language: Language
    weight_kg: Decimal | None = Field(None, gt=0, lt=400)
    country: str = ""
    currency: str = Field("USD", min_length=3, max_length=3)
    email: str = ""
    phone: str = ""
    home_physician_name: str = ""
    home_physician_contact: str = ""
    inquiry: uuid.UUID | None = None
    proxy: ProxyIn | None = None


class ProxyOut(Schema):
    name: str
    relationship: str
    email: str


class PatientOut(Schema):
    external_id: uuid.UUID
    patient_code: str
    family_name: str
    given_name: str
    date_of_birth: dt.date
    sex: str
    weight_kg: Decimal | None
    language: str
    country: str
    email: str
    status: str
    home_physician_name: str
    diagnosis_code: str
    diagnosis_text: str
    diagnosis_source: str


class PatientDetailOut(PatientOut):
    proxies: list[ProxyOut]

    @staticmethod
    def resolve_proxies(obj: Any) -> list[Any]:
        return [p for p in obj.proxies.all() if p.voided_at is None]


class ListFilter(PageQuery):
    q: str = ""


@router.get("/journey/patients", response={200: Page[PatientOut], **ERROR_RESPONSES})
def patient_list(request: AuthedRequest, filters: Query[ListFilter]) -> dict[str, Any]:
    return page_of(selectors.patient_list(actor=request.user, q=filters.q), filters)


@router.post("/journey/patients", response={201: PatientDetailOut, **ERROR_RESPONSES})
def patient_create(request: AuthedRequest, payload: PatientIn) -> Status:
    data = payload.dict()
    inquiry = None
    if data.pop("inquiry"):
        inquiry = selectors.inquiry_get(actor=request.user, external_id=payload.inquiry)
    proxy = data.pop("proxy")
    patient = services.patient_enrol(actor=request.user, inquiry=inquiry, proxy=proxy, **data)
    return Status(201, patient)


@router.get("/journey/patients/{external_id}", response={200: PatientDetailOut, **ERROR_RESPONSES})
def patient_get(request: AuthedRequest, external_id: str) -> Any:
    patient = selectors.patient_get(actor=request.user, external_id=external_id)
    access_log_record(
        actor=request.user,
        channel=API,
        subject_type="journey.patient",
        subject_id=patient.external_id,
        patient=patient,
        label="patient record",
    )
    return patient


class DiagnosisIn(Schema):
    code: str = Field(..., min_length=1, max_length=40, description="Indication code or ICD-10")
    text: str = Field("", max_length=300)
    reason: str = Field("", max_length=500)


@router.post(
    "/journey/patients/{external_id}/diagnosis",
    response={200: PatientDetailOut, **ERROR_RESPONSES},
)
def patient_diagnosis(request: AuthedRequest, external_id: str, payload: DiagnosisIn) -> Any:
    """A physician records or corrects the patient's coded diagnosis (checked by the gate)."""
    patient = selectors.patient_get(actor=request.user, external_id=external_id)
    services.patient_diagnosis_set(
        actor=request.user,
        patient=patient,
        code=payload.code,
        text=payload.text,
        reason=payload.reason,
    )
    return selectors.patient_get(actor=request.user, external_id=external_id)


# --- quotes --------------------------------------------------------------------------------------


class QuoteLineOut(Schema):
    position: int
    kind: str
    code: str
    description: str
    quantity: int
    unit_price_jpy: int
    amount_jpy: int
    included_in_total: bool


class QuoteOut(Schema):
    external_id: uuid.UUID
    number: str
    version: int
    status: str
    patient: uuid.UUID
    plan_number: str
    language: str
    valid_until: dt.date
    subtotal_jpy: int
    tax_jpy: int
    total_jpy: int
    currency: str
    fx_rate: Decimal | None
    fx_rate_date: dt.date | None
    converted_amount: Decimal | None
    refund_schedule: list[dict[str, Any]]
    accepted_at: dt.datetime | None

    @staticmethod
    def resolve_patient(obj: Any) -> uuid.UUID:
        return obj.patient.external_id

    @staticmethod
    def resolve_plan_number(obj: Any) -> str:
        return obj.plan.plan_number


class QuoteDetailOut(QuoteOut):
    lines: list[QuoteLineOut]
    disclosures: dict[str, Any]

    @staticmethod
    def resolve_lines(obj: Any) -> list[Any]:
        return list(obj.lines.all())


class QuoteIn(Schema):
    patient: uuid.UUID
    plan: uuid.UUID
    price_list: uuid.UUID
    infusions: int = Field(..., ge=1, le=50)
    follow_ups: int = Field(0, ge=0, le=50)
    assessments: int = Field(0, ge=0, le=50)
    interpreter_days: int = Field(0, ge=0, le=365)
    commission_rate: Decimal | None = Field(None, ge=0, lt=1)
    commission_jpy: int | None = Field(None, ge=0)
    commission_payer: Literal["clinic", "patient"] = "clinic"
    currency: str | None = Field(None, min_length=3, max_length=3)
    fx_jpy_per_unit: Decimal | None = Field(None, gt=0)
    fx_date: dt.date | None = None
    fx_source: str = ""
    language: Language | None = None
    valid_until: dt.date | None = None
    revises: uuid.UUID | None = None


class QuoteAcceptIn(Schema):
    accepted_by_name: str
    agree: bool


class QuoteFilter(PageQuery):
    patient: uuid.UUID | None = None


def _patient_or_none(request: AuthedRequest, external_id: Any) -> Any:
    return (
        selectors.patient_get(actor=request.user, external_id=external_id) if external_id else None
    )


@router.get("/journey/quotes", response={200: Page[QuoteOut], **ERROR_RESPONSES})
def quote_list(request: AuthedRequest, filters: Query[QuoteFilter]) -> dict[str, Any]:
    patient = _patient_or_none(request, filters.patient)
    return page_of(selectors.quote_list(actor=request.user, patient=patient), filters)


@router.post("/journey/quotes", response={201: QuoteDetailOut, **ERROR_RESPONSES})
def quote_create(request: AuthedRequest, payload: QuoteIn) -> Status:
    from saisei.regulatory.selectors import plans_of_organisation

    from .models import PriceList, Quote

    actor = request.user
    patient = selectors.patient_get(actor=actor, external_id=payload.patient)
    plan = get_scoped(perms.scope_journey(actor, plans_of_organisation(actor=actor)), payload.plan)
    price_list = get_scoped(perms.scope_journey(actor, PriceList.objects.all()), payload.price_list)
    revises = (
        get_scoped(perms.scope_journey(actor, Quote.objects.all()), payload.revises)
        if payload.revises
        else None
    )
    commission: Decimal | int = (
        payload.commission_rate
        if payload.commission_rate is not None
        else payload.commission_jpy or 0
    )
    quote = services.quote_create(
        actor=actor,
        patient=patient,
        plan=plan,
        price_list=price_list,
        infusions=payload.infusions,
        follow_ups=payload.follow_ups,
        assessments=payload.assessments,
        interpreter_days=payload.interpreter_days,
        commission=commission,
        commission_payer=payload.commission_payer,
        currency=payload.currency,
        fx_jpy_per_unit=payload.fx_jpy_per_unit,
        fx_date=payload.fx_date,
        fx_source=payload.fx_source,
        language=payload.language,
        valid_until=payload.valid_until,
        revises=revises,
    )
    return Status(201, quote)


@router.get("/journey/quotes/{external_id}", response={200: QuoteDetailOut, **ERROR_RESPONSES})
def quote_get(request: AuthedRequest, external_id: str) -> Any:
    return selectors.quote_get(actor=request.user, external_id=external_id)


@router.post(
    "/journey/quotes/{external_id}/issue", response={200: QuoteDetailOut, **ERROR_RESPONSES}
)
def quote_issue(request: AuthedRequest, external_id: str) -> Any:
    quote = selectors.quote_get(actor=request.user, external_id=external_id)
    return services.quote_issue(actor=request.user, quote=quote)


@router.post(
    "/journey/quotes/{external_id}/accept", response={200: QuoteDetailOut, **ERROR_RESPONSES}
)
def quote_accept(request: AuthedRequest, external_id: str, payload: QuoteAcceptIn) -> Any:
    """Acceptance taken by staff on the family's behalf (families accept in the portal)."""
    quote = selectors.quote_get(actor=request.user, external_id=external_id)
    return services.quote_accept(
        quote=quote,
        accepted_by_name=payload.accepted_by_name,
        agree=payload.agree,
        actor=request.user,
    )


@router.get(
    "/journey/quotes/{external_id}/pdf",
    response={200: None, **ERROR_RESPONSES},
    openapi_extra={"responses": {200: {"content": {"application/pdf": {}}}}},
)
def quote_pdf(
    request: AuthedRequest, external_id: str, language: Language | None = None
) -> HttpResponse:
    from .documents import quote_pdf as render

    quote = selectors.quote_get(actor=request.user, external_id=external_id)
    pdf = render(quote=quote, language=language or quote.language)
    access_log_record(
        actor=request.user,
        channel=API,
        subject_type="journey.quote_pdf",
        subject_id=quote.external_id,
        patient=quote.patient,
        label=f"quote {quote.number} v{quote.version} PDF",
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{quote.number}-v{quote.version}.pdf"'
    return response


# --- pre-screening decisions -------------------------------------------------------------------


class PrescreenOut(Schema):
    external_id: uuid.UUID
    patient: uuid.UUID
    outcome: str
    decision: str
    decision_note: str
    decided_by: str | None
    decided_at: dt.datetime | None

    @staticmethod
    def resolve_patient(obj: Any) -> uuid.UUID:
        return obj.patient.external_id

    @staticmethod
    def resolve_decided_by(obj: Any) -> str | None:
        return obj.decided_by.username if obj.decided_by_id else None


class PrescreenDecisionIn(Schema):
    """The physician's signed decision: password and, if enrolled, the current code."""

    decision: Literal["eligible", "not_eligible"]
    note: str = Field("", max_length=4000)
    password: str = Field(..., max_length=200)
    otp: str | None = Field(None, max_length=64)


@router.post(
    "/journey/prescreens/{external_id}/decision",
    response={200: PrescreenOut, **ERROR_RESPONSES},
    summary="Decide eligibility with the physician's electronic signature",
)
def prescreen_decide(request: AuthedRequest, external_id: str, payload: PrescreenDecisionIn) -> Any:
    prescreen = selectors.prescreen_get(actor=request.user, external_id=external_id)
    return services.prescreen_decide(
        actor=request.user,
        prescreen_obj=prescreen,
        decision=payload.decision,
        note=payload.note,
        password=payload.password,
        otp=payload.otp,
    )


# --- consents ------------------------------------------------------------------------------------


class ConsentOut(Schema):
    external_id: uuid.UUID
    patient: uuid.UUID
    plan_number: str
    plan_version: int
    document_version: str
    language: str
    given_by: str
    signer_name: str
    signed_at: dt.datetime
    explained_by: str
    withdrawn_at: dt.datetime | None
    withdrawal_reason: str

    @staticmethod
    def resolve_patient(obj: Any) -> uuid.UUID:
        return obj.patient.external_id

    @staticmethod
    def resolve_plan_number(obj: Any) -> str:
        return obj.plan_version.plan.plan_number

    @staticmethod
    def resolve_plan_version(obj: Any) -> int:
        return obj.plan_version.number

    @staticmethod
    def resolve_document_version(obj: Any) -> str:
        return obj.document.version

    @staticmethod
    def resolve_language(obj: Any) -> str:
        return obj.document.language

    @staticmethod
    def resolve_explained_by(obj: Any) -> str:
        return str(obj.explained_by)


class ConsentIn(Schema):
    patient: uuid.UUID
    document: uuid.UUID
    given_by: Literal["patient", "proxy"]
    proxy: uuid.UUID | None = None
    signer_name: str
    signer_confirms: bool
    password: str = Field(..., max_length=200)
    otp: str | None = Field(None, max_length=64)


class WithdrawIn(Schema):
    reason: str


class PatientFilter(PageQuery):
    patient: uuid.UUID | None = None


@router.get("/journey/consents", response={200: Page[ConsentOut], **ERROR_RESPONSES})
def consent_list(request: AuthedRequest, filters: Query[PatientFilter]) -> dict[str, Any]:
    patient = _patient_or_none(request, filters.patient)
    return page_of(selectors.consent_list(actor=request.user, patient=patient), filters)


@router.post("/journey/consents", response={201: ConsentOut, **ERROR_RESPONSES})
def consent_create(request: AuthedRequest, payload: ConsentIn) -> Status:
    actor = request.user
    patient = selectors.patient_get(actor=actor, external_id=payload.patient)
    document = get_scoped(selectors.consent_document_list(actor=actor), payload.document)
    proxy = None
    if payload.proxy:
        proxy = patient.proxies.filter(external_id=payload.proxy).first()
        if proxy is None:
            raise NotFound()
    consent = services.consent_give(
        actor=actor,
        patient=patient,
        document=document,
        given_by=payload.given_by,
        proxy=proxy,
        signer_name=payload.signer_name,
        signer_confirms=payload.signer_confirms,
        password=payload.password,
        otp=payload.otp,
    )
    return Status(201, consent)


@router.post(
    "/journey/consents/{external_id}/withdraw", response={200: ConsentOut, **ERROR_RESPONSES}
)
def consent_withdraw(request: AuthedRequest, external_id: str, payload: WithdrawIn) -> Any:
    consent = selectors.consent_get(actor=request.user, external_id=external_id)
    return services.consent_withdraw(actor=request.user, consent=consent, reason=payload.reason)


# --- courses -------------------------------------------------------------------------------------


class StepOut(Schema):
    kind: str
    number: int
    planned_date: dt.date | None
    route: str
    planned_dose_cells: int | None
    status: str
    gate_result: dict[str, Any]


class CourseOut(Schema):
    external_id: uuid.UUID
    patient: uuid.UUID
    plan_number: str
    status: str
    package: dict[str, Any]
    steps: list[StepOut]

    @staticmethod
    def resolve_patient(obj: Any) -> uuid.UUID:
        return obj.patient.external_id

    @staticmethod
    def resolve_plan_number(obj: Any) -> str:
        return obj.plan.plan_number

    @staticmethod
    def resolve_steps(obj: Any) -> list[Any]:
        return sorted(obj.steps.all(), key=lambda s: (s.planned_date or dt.date.max, s.kind))


class CourseIn(Schema):
    patient: uuid.UUID
    package: uuid.UUID
    harvest_date: dt.date
    physician: uuid.UUID | None = None
    facility: uuid.UUID | None = None


@router.get("/journey/courses", response={200: Page[CourseOut], **ERROR_RESPONSES})
def course_list(request: AuthedRequest, filters: Query[PatientFilter]) -> dict[str, Any]:
    patient = _patient_or_none(request, filters.patient)
    return page_of(selectors.course_list(actor=request.user, patient=patient), filters)


@router.post("/journey/courses", response={201: CourseOut, **ERROR_RESPONSES})
def course_create(request: AuthedRequest, payload: CourseIn) -> Status:
    from saisei.regulatory.selectors import (
        facilities_of_organisation,
        physicians_of_organisation,
    )

    from .models import TreatmentPackage

    actor = request.user
    patient = selectors.patient_get(actor=actor, external_id=payload.patient)
    package = get_scoped(
        perms.scope_journey(actor, TreatmentPackage.objects.all()), payload.package
    )
    physician = (
        get_scoped(
            perms.scope_journey(actor, physicians_of_organisation(actor=actor)), payload.physician
        )
        if payload.physician
        else None
    )
    facility = (
        get_scoped(
            perms.scope_journey(actor, facilities_of_organisation(actor=actor)), payload.facility
        )
        if payload.facility
        else None
    )
    course = services.course_instantiate(
        actor=actor,
        patient=patient,
        package=package,
        harvest_date=payload.harvest_date,
        physician=physician,
        facility=facility,
    )
    return Status(201, selectors.course_get(actor=actor, external_id=course.external_id))


@router.get("/journey/courses/{external_id}", response={200: CourseOut, **ERROR_RESPONSES})
def course_get(request: AuthedRequest, external_id: str) -> Any:
    return selectors.course_get(actor=request.user, external_id=external_id)


@router.post(
    "/journey/courses/{external_id}/schedule", response={200: CourseOut, **ERROR_RESPONSES}
)
def course_schedule(request: AuthedRequest, external_id: str) -> Any:
    course = selectors.course_get(actor=request.user, external_id=external_id)
    services.course_schedule(actor=request.user, course=course)
    return selectors.course_get(actor=request.user, external_id=external_id)
