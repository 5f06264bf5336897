"""Donors for allogeneic plans: register, screen, consent (physician, CPC; QA reads).

Donor identity is served only here, under its own permission; donation and patient endpoints
never include it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from saisei.core.api_support import ERROR_RESPONSES, ApiDateTime
from saisei.core.errors import Forbidden
from saisei.processing import permissions, selectors, services
from saisei.processing.donor_rules import donor_criteria

from .common import _plan, _user

router = Router()


class DonorIn(Schema):
    plan: uuid.UUID
    family_name: str = Field(..., max_length=100)
    given_name: str = Field(..., max_length=100)
    birth_date: dt.date
    sex: str = Field("", max_length=10)


class ScreeningIn(Schema):
    results: dict[str, str] = Field(
        ...,
        description="criterion code -> pass | fail | pending (codes: GET /processing/donor-criteria)",
    )
    at: ApiDateTime | None = None


class DonorConsentIn(Schema):
    signed_at: ApiDateTime | None = None
    form_version: str = Field(..., max_length=50)


class CriterionOut(Schema):
    code: str
    label: str
    kind: str
    source: str
    certain: bool


class DonorOut(Schema):
    id: uuid.UUID = Field(..., alias="external_id")
    donor_code: str
    family_name: str
    given_name: str
    birth_date: dt.date
    sex: str
    plan: uuid.UUID
    screening: dict[str, str]
    consent_signed_at: dt.datetime | None
    consent_form_version: str
    consent_withdrawn_at: dt.datetime | None
    eligible: bool
    problems: list[str]
    dins: list[str]

    @staticmethod
    def resolve_plan(obj: Any) -> uuid.UUID:
        return obj.plan.external_id

    @staticmethod
    def resolve_eligible(obj: Any) -> bool:
        return services.donor_eligible(obj)

    @staticmethod
    def resolve_problems(obj: Any) -> list[str]:
        return [m for msgs in services.donor_problems(obj).values() for m in msgs]

    @staticmethod
    def resolve_dins(obj: Any) -> list[str]:
        return [link.din for link in obj.links.all()]


def _require_view(actor: Any) -> None:
    if not permissions.can_view_donors(actor):
        raise Forbidden()


@router.get("/processing/donor-criteria", response={200: list[CriterionOut], **ERROR_RESPONSES})
def donor_criteria_list(request: HttpRequest) -> list:
    from django.utils.translation import gettext as _

    _require_view(_user(request))
    return [
        {
            "code": c.code,
            "label": _(c.label),
            "kind": c.kind,
            "source": c.source,
            "certain": c.certain,
        }
        for c in donor_criteria()
    ]


@router.get("/processing/donors", response={200: list[DonorOut], **ERROR_RESPONSES})
def donor_list(request: HttpRequest) -> Any:
    actor = _user(request)
    _require_view(actor)
    return list(selectors.donor_list(actor=actor)[:500])


@router.post("/processing/donors", response={201: DonorOut, **ERROR_RESPONSES})
def donor_create(request: HttpRequest, payload: DonorIn) -> Status:
    actor = _user(request)
    donor = services.donor_register(
        actor=actor,
        plan=_plan(actor, payload.plan),
        family_name=payload.family_name,
        given_name=payload.given_name,
        birth_date=payload.birth_date,
        sex=payload.sex,
    )
    return Status(201, donor)


@router.get("/processing/donors/{external_id}", response={200: DonorOut, **ERROR_RESPONSES})
def donor_detail(request: HttpRequest, external_id: str) -> Any:
    actor = _user(request)
    _require_view(actor)
    return selectors.donor_get(actor=actor, external_id=external_id)


@router.post(
    "/processing/donors/{external_id}/screening", response={200: DonorOut, **ERROR_RESPONSES}
)
def donor_screening(request: HttpRequest, external_id: str, payload: ScreeningIn) -> Any:
    actor = _user(request)
    donor = selectors.donor_for_link(actor=actor, external_id=external_id)
    return services.donor_screening_record(
        actor=actor, donor=donor, results=payload.results, at=payload.at
    )


@router.post(
    "/processing/donors/{external_id}/consent", response={200: DonorOut, **ERROR_RESPONSES}
)
def donor_consent(request: HttpRequest, external_id: str, payload: DonorConsentIn) -> Any:
    actor = _user(request)
    donor = selectors.donor_for_link(actor=actor, external_id=external_id)
    return services.donor_consent_record(
        actor=actor, donor=donor, signed_at=payload.signed_at, form_version=payload.form_version
    )
