"""network API: a facilitator's agreements, referrals, shares and comparison; a clinic's received
referrals (read only while the share is live), its quote or its decline; commissions as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from saisei.core.access_log import API, access_log_record
from saisei.core.api_support import ERROR_RESPONSES
from saisei.core.errors import NotFound
from saisei.core.models import Organisation
from saisei.journey import selectors as journey_selectors
from saisei.journey.views._helpers import AuthedRequest

from . import selectors, services
from .models import ReferralConsent, Share

router = Router(tags=["network"])


class AgreementIn(Schema):
    clinic: str = Field(..., description="The clinic organisation's slug")
    reference: str = Field(..., min_length=1, max_length=60)
    commission_kind: Literal["percent", "fixed"]
    commission_percent: Decimal | None = None
    commission_fixed_jpy: int | None = None
    commission_payer: Literal["clinic", "patient"]
    shareable_fields: list[str]
    documents_shareable: bool = False
    recipient_measures: str
    valid_from: dt.date
    valid_until: dt.date


class AgreementOut(Schema):
    external_id: uuid.UUID
    clinic: str = Field(..., validation_alias="clinic.name")
    reference: str
    commission_kind: str
    commission_percent: Decimal | None
    commission_fixed_jpy: int | None
    commission_payer: str
    shareable_fields: list[str]
    documents_shareable: bool
    valid_from: dt.date
    valid_until: dt.date
    ended_at: dt.datetime | None


@router.get("/network/agreements", response={200: list[AgreementOut], **ERROR_RESPONSES})
def agreement_list(request: AuthedRequest) -> Any:
    return list(selectors.agreement_list(actor=request.user))


@router.post("/network/agreements", response={201: AgreementOut, **ERROR_RESPONSES})
def agreement_create(request: AuthedRequest, payload: AgreementIn) -> Status:
    clinic = Organisation.objects.filter(slug=payload.clinic).first()
    if clinic is None:
        raise NotFound()
    data = payload.dict()
    data.pop("clinic")
    return Status(201, services.agreement_create(actor=request.user, clinic=clinic, **data))


class ShareOut(Schema):
    external_id: uuid.UUID
    clinic: str = Field(..., validation_alias="clinic.name")
    status: str
    fields: list[str]
    shared_at: dt.datetime
    revoked_at: dt.datetime | None
    revoke_reason: str
    decline_reason: str
    closed_reason: str
    earliest_start: dt.date | None


class ConsentOut(Schema):
    external_id: uuid.UUID
    clinic: str = Field(..., validation_alias="clinic.name")
    fields: list[str]
    cross_border: bool
    recipient_country: str
    recipient_country_system: str
    recipient_measures: str
    legal_basis: str
    given_at: dt.datetime
    withdrawn_at: dt.datetime | None


class ReferralOut(Schema):
    external_id: uuid.UUID
    reference: str
    status: str
    family_country: str
    order: str
    shares: list[ShareOut]


class ReferralIn(Schema):
    inquiry: uuid.UUID
    family_country: str = Field(..., min_length=2, max_length=2)
    patient: uuid.UUID | None = None


@router.get("/network/referrals", response={200: list[ReferralOut], **ERROR_RESPONSES})
def referral_list(request: AuthedRequest) -> Any:
    return list(selectors.referral_list(actor=request.user))


@router.post("/network/referrals", response={201: ReferralOut, **ERROR_RESPONSES})
def referral_open(request: AuthedRequest, payload: ReferralIn) -> Status:
    inquiry = (
        journey_selectors.inquiries_of_organisation(actor=request.user)
        .filter(external_id=payload.inquiry)
        .first()
    )
    patient = (
        journey_selectors.patients_of_organisation(actor=request.user)
        .filter(external_id=payload.patient)
        .first()
        if payload.patient
        else None
    )
    if inquiry is None or (payload.patient and patient is None):
        raise NotFound()
    return Status(
        201,
        services.referral_open(
            actor=request.user,
            inquiry=inquiry,
            family_country=payload.family_country,
            patient=patient,
        ),
    )


@router.get(
    "/network/referrals/{external_id}/consents",
    response={200: list[ConsentOut], **ERROR_RESPONSES},
)
def referral_consents(request: AuthedRequest, external_id: uuid.UUID) -> Any:
    referral = selectors.referral_get(actor=request.user, external_id=external_id)
    return list(referral.consents.select_related("clinic"))


class ShareIn(Schema):
    consent: uuid.UUID


@router.post("/network/referrals/{external_id}/shares", response={201: ShareOut, **ERROR_RESPONSES})
def share_create(request: AuthedRequest, external_id: uuid.UUID, payload: ShareIn) -> Status:
    referral = selectors.referral_get(actor=request.user, external_id=external_id)
    consent = ReferralConsent.objects.filter(referral=referral, external_id=payload.consent).first()
    if consent is None:
        raise NotFound()
    return Status(
        201, services.share_create(actor=request.user, referral=referral, consent=consent)
    )


class ReasonIn(Schema):
    reason: str = Field(..., max_length=2000)


@router.post("/network/shares/{external_id}/revoke", response={200: ShareOut, **ERROR_RESPONSES})
def share_revoke(request: AuthedRequest, external_id: uuid.UUID, payload: ReasonIn) -> Any:
    share = Share.objects.filter(
        external_id=external_id, organisation_id=request.user.organisation_id
    ).first()
    if share is None:
        raise NotFound()
    return services.share_revoke(actor=request.user, share=share, reason=payload.reason)


class ComparisonRowOut(Schema):
    clinic: str
    status: str
    reason: str
    plan_number: str
    risk_class: int | None
    plan_status: str
    plan_in_force: bool
    facilities: list[dict[str, Any]]
    route: str
    infusions: int | None
    cells_per_infusion: int | None
    earliest_start: dt.date | None
    clinic_price_jpy: int
    commission_jpy: int
    commission_payer: str
    total_jpy: int
    refund_schedule: list[dict[str, Any]]


class OrderQuery(Schema):
    order: Literal["start", "cost"] | None = None


@router.get(
    "/network/referrals/{external_id}/comparison",
    response={200: list[ComparisonRowOut], **ERROR_RESPONSES},
)
def referral_comparison(
    request: AuthedRequest, external_id: uuid.UUID, q: Query[OrderQuery]
) -> Any:
    referral = selectors.referral_get(actor=request.user, external_id=external_id)
    return selectors.comparison(referral=referral, order=q.order)


class PeriodQuery(Schema):
    start: dt.date
    end: dt.date


@router.get("/network/commissions.csv", response={200: str, **ERROR_RESPONSES})
def commissions_csv(request: AuthedRequest, q: Query[PeriodQuery]) -> HttpResponse:
    """The commissions of the quotes accepted in the period, as CSV."""
    return commissions_response(
        selectors.commissions(actor=request.user, start=q.start, end=q.end), q.start, q.end
    )


COMMISSION_COLUMNS = (
    "accepted_on",
    "referral",
    "clinic",
    "quote",
    "total_jpy",
    "commission_jpy",
    "commission_payer",
)


def commissions_response(rows: list[dict[str, Any]], start: dt.date, end: dt.date) -> HttpResponse:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COMMISSION_COLUMNS)
    w.writeheader()
    w.writerows(rows)
    resp = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="commissions-{start}-{end}.csv"'
    return resp


# --- the clinic's side ------------------------------------------------------------------------


class ReceivedOut(Schema):
    external_id: uuid.UUID
    reference: str = Field(..., validation_alias="referral.reference")
    facilitator: str = Field(..., validation_alias="organisation.name")
    status: str
    shared_at: dt.datetime


class SharedFieldOut(Schema):
    field: str
    label: str
    value: Any


class SharedFileOut(Schema):
    id: str
    name: str
    size: int


class SharedRecordOut(Schema):
    reference: str
    facilitator: str
    language: str
    fields: list[SharedFieldOut]
    files: list[SharedFileOut]


@router.get("/network/received", response={200: list[ReceivedOut], **ERROR_RESPONSES})
def received_list(request: AuthedRequest) -> Any:
    return list(selectors.shares_for_clinic(actor=request.user))


@router.get("/network/received/{external_id}", response={200: SharedRecordOut, **ERROR_RESPONSES})
def received_get(request: AuthedRequest, external_id: uuid.UUID) -> Any:
    share = selectors.share_for_clinic(actor=request.user, external_id=external_id)
    access_log_record(
        actor=request.user,
        channel=API,
        subject_type="network.share",
        subject_id=share.external_id,
        patient=(share.referral.external_id, share.referral.reference),
        label="referral",
    )
    return selectors.shared_record(share)


@router.post(
    "/network/received/{external_id}/decline", response={200: ReceivedOut, **ERROR_RESPONSES}
)
def received_decline(request: AuthedRequest, external_id: uuid.UUID, payload: ReasonIn) -> Any:
    share = selectors.share_for_clinic(actor=request.user, external_id=external_id)
    return services.share_decline(actor=request.user, share=share, reason=payload.reason)


class AnswerIn(Schema):
    package: uuid.UUID
    price_list: uuid.UUID
    follow_ups: int = Field(0, ge=0, le=50)
    interpreter_days: int = Field(0, ge=0, le=365)


@router.post(
    "/network/received/{external_id}/quote", response={200: ReceivedOut, **ERROR_RESPONSES}
)
def received_quote(request: AuthedRequest, external_id: uuid.UUID, payload: AnswerIn) -> Any:
    share = selectors.share_for_clinic(actor=request.user, external_id=external_id)
    package = (
        journey_selectors.packages_of_organisation(actor=request.user)
        .filter(external_id=payload.package)
        .first()
    )
    price_list = (
        journey_selectors.price_lists_of_organisation(actor=request.user)
        .filter(external_id=payload.price_list)
        .first()
    )
    if package is None or price_list is None:
        raise NotFound()
    return services.share_quote(
        actor=request.user,
        share=share,
        package=package,
        price_list=price_list,
        follow_ups=payload.follow_ups,
        interpreter_days=payload.interpreter_days,
    )
