"""API for a facility's licence register and changes, and the clinic's own duties (issue 16).

Mounted on the regulatory router (``api.py``); each endpoint calls one selector or service, so
the rules and role checks are the same as on the pages.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema

from saisei.core.api_support import ERROR_RESPONSES, Page, PageQuery, page_of
from saisei.core.errors import Forbidden, ValidationFailed
from saisei.core.models import User
from saisei.core.permissions import staff_user
from saisei.core.selectors import get_scoped
from saisei.regulatory import duties_selectors as ds
from saisei.regulatory import permissions, selectors, services
from saisei.regulatory.models import (
    CommitteeAction,
    CommitteeOpinion,
    Complaint,
    FacilityAuthorisation,
    FacilityChange,
    PeriodicCheck,
)

router = Router(tags=["regulatory"])


def _colleague(actor: Any, username: str, field: str) -> User:
    user = User.objects.filter(organisation_id=actor.organisation_id, username=username).first()
    if user is None:
        raise ValidationFailed(
            "duties.person_unknown",
            "Choose a colleague of your organisation.",
            {field: ["Choose a colleague of your organisation."]},
        )
    return user


# --- licence register and changes -----------------------------------------------------------


class AuthorisationOut(Schema):
    external_id: uuid.UUID
    kind: str
    number: str
    scope: str
    valid_from: dt.date
    valid_until: dt.date | None
    renews: uuid.UUID | None
    ended_on: dt.date | None
    end_reason: str
    in_force_today: bool

    @staticmethod
    def resolve_renews(obj: Any) -> uuid.UUID | None:
        return obj.renews.external_id if obj.renews_id else None

    @staticmethod
    def resolve_in_force_today(obj: Any) -> bool:
        from saisei.regulatory.models import today_tokyo

        return bool(obj.in_force_on(today_tokyo()))


class AuthorisationIn(Schema):
    kind: Literal["notified", "licensed", "accredited"]
    number: str
    scope: str
    valid_from: dt.date
    valid_until: dt.date | None = None
    renews: uuid.UUID | None = None


class AuthorisationEndIn(Schema):
    ended_on: dt.date
    reason: Literal["revoked", "withdrawn", "superseded"]
    note: str = ""


class ChangeOut(Schema):
    external_id: uuid.UUID
    kind: str
    description: str
    change_date: dt.date
    notice_due: dt.date | None
    notice_source: str

    @staticmethod
    def resolve_notice_due(obj: Any) -> dt.date | None:
        notice = getattr(obj, "notice", None)
        return notice.due_date if notice else None

    @staticmethod
    def resolve_notice_source(obj: Any) -> str:
        notice = getattr(obj, "notice", None)
        return notice.source if notice else ""


class ChangeIn(Schema):
    kind: Literal["manager", "name_address", "structure", "scope", "other"]
    description: str
    change_date: dt.date


@router.get(
    "/regulatory/facilities/{external_id}/authorisations",
    response={200: list[AuthorisationOut], **ERROR_RESPONSES},
)
def facility_authorisations(request: HttpRequest, external_id: str) -> list[FacilityAuthorisation]:
    """The facility's licence register, oldest first: the one source the compliance gate reads."""
    facility = ds.facility_detail(actor=staff_user(request), external_id=external_id)
    return list(facility.authorisations.all())


@router.post(
    "/regulatory/facilities/{external_id}/authorisations",
    response={200: AuthorisationOut, **ERROR_RESPONSES},
)
def facility_authorisation_record(
    request: HttpRequest, external_id: str, payload: AuthorisationIn
) -> FacilityAuthorisation:
    """Record a licence, notification or accreditation, or a renewal (``renews``)."""
    actor = staff_user(request)
    facility = ds.facility_detail(actor=actor, external_id=external_id)
    renews = (
        ds.authorisation_get(actor=actor, facility=facility, external_id=payload.renews)
        if payload.renews
        else None
    )
    return services.facility_authorisation_record(
        actor=actor,
        facility=facility,
        kind=payload.kind,
        number=payload.number,
        scope=payload.scope,
        valid_from=payload.valid_from,
        valid_until=payload.valid_until,
        renews=renews,
    )


@router.post(
    "/regulatory/facilities/{external_id}/authorisations/{record_id}/end",
    response={200: AuthorisationOut, **ERROR_RESPONSES},
)
def facility_authorisation_end(
    request: HttpRequest, external_id: str, record_id: str, payload: AuthorisationEndIn
) -> FacilityAuthorisation:
    """End a record early (revoked, withdrawn, superseded)."""
    actor = staff_user(request)
    facility = ds.facility_detail(actor=actor, external_id=external_id)
    record = ds.authorisation_get(actor=actor, facility=facility, external_id=record_id)
    return services.facility_authorisation_end(
        actor=actor,
        record=record,
        ended_on=payload.ended_on,
        reason=payload.reason,
        note=payload.note,
    )


@router.get(
    "/regulatory/facilities/{external_id}/changes",
    response={200: list[ChangeOut], **ERROR_RESPONSES},
)
def facility_changes(request: HttpRequest, external_id: str) -> list[FacilityChange]:
    """The facility's changes, each with the notice obligation it opened."""
    actor = staff_user(request)
    facility = ds.facility_detail(actor=actor, external_id=external_id)
    notices = {
        o.subject_id: o
        for o in ds.facility_obligations(actor=actor, facility=facility)
        if o.subject_type == "regulatory.facility_change"
    }
    changes = list(facility.changes.all())
    for c in changes:
        c.notice = notices.get(str(c.external_id))  # type: ignore[attr-defined]
    return changes


@router.post(
    "/regulatory/facilities/{external_id}/changes",
    response={200: ChangeOut, **ERROR_RESPONSES},
)
def facility_change_record(
    request: HttpRequest, external_id: str, payload: ChangeIn
) -> FacilityChange:
    """Record a change to the facility; its notice becomes an obligation with a deadline."""
    actor = staff_user(request)
    facility = ds.facility_detail(actor=actor, external_id=external_id)
    change = services.facility_change_record(
        actor=actor,
        facility=facility,
        kind=payload.kind,
        description=payload.description,
        change_date=payload.change_date,
    )
    notices = ds.facility_obligations(actor=actor, facility=facility)
    change.notice = next(  # type: ignore[attr-defined]
        (o for o in notices if o.subject_id == str(change.external_id)), None
    )
    return change


# --- complaints ------------------------------------------------------------------------------


class ComplaintOut(Schema):
    external_id: uuid.UUID
    reference: str
    complainant_kind: str
    complainant_name: str
    received_on: dt.date
    channel: str
    summary: str
    details: str
    handler: str
    status: str
    response: str
    responded_on: dt.date | None
    closed_on: dt.date | None

    @staticmethod
    def resolve_handler(obj: Any) -> str:
        return obj.handler.username


class ComplaintIn(Schema):
    complainant_kind: Literal["patient", "family", "other"]
    complainant_name: str = ""
    received_on: dt.date
    channel: Literal["phone", "email", "letter", "in_person", "portal", "other"]
    summary: str
    details: str = ""
    handler: str  # username


class ResponseIn(Schema):
    response: str
    responded_on: dt.date


def _require_duties(request: HttpRequest) -> Any:
    actor = staff_user(request)
    if not permissions.can_view_duties(actor):
        raise Forbidden()
    return actor


@router.get("/regulatory/complaints", response={200: Page[ComplaintOut], **ERROR_RESPONSES})
def complaint_list(request: HttpRequest, page: Query[PageQuery]) -> dict:
    actor = _require_duties(request)
    return page_of(ds.complaint_list(actor=actor), page)


@router.post("/regulatory/complaints", response={200: ComplaintOut, **ERROR_RESPONSES})
def complaint_record(request: HttpRequest, payload: ComplaintIn) -> Complaint:
    """Log a complaint: who, when, how, what, and who handles it."""
    actor = staff_user(request)
    data = payload.dict()
    data["handler"] = _colleague(actor, payload.handler, "handler")
    return services.complaint_record(actor=actor, **data)


@router.post(
    "/regulatory/complaints/{external_id}/investigate",
    response={200: ComplaintOut, **ERROR_RESPONSES},
)
def complaint_investigate(request: HttpRequest, external_id: str) -> Complaint:
    actor = _require_duties(request)
    complaint = ds.complaint_get(actor=actor, external_id=external_id)
    return services.complaint_investigate(actor=actor, complaint=complaint)


@router.post(
    "/regulatory/complaints/{external_id}/respond",
    response={200: ComplaintOut, **ERROR_RESPONSES},
)
def complaint_respond(request: HttpRequest, external_id: str, payload: ResponseIn) -> Complaint:
    actor = _require_duties(request)
    complaint = ds.complaint_get(actor=actor, external_id=external_id)
    return services.complaint_respond(
        actor=actor,
        complaint=complaint,
        response=payload.response,
        responded_on=payload.responded_on,
    )


@router.post(
    "/regulatory/complaints/{external_id}/close",
    response={200: ComplaintOut, **ERROR_RESPONSES},
)
def complaint_close(request: HttpRequest, external_id: str) -> Complaint:
    """Close an answered complaint (a complaint without a response is refused, 409)."""
    actor = _require_duties(request)
    complaint = ds.complaint_get(actor=actor, external_id=external_id)
    return services.complaint_close(actor=actor, complaint=complaint)


# --- periodic checks -------------------------------------------------------------------------


class CheckOut(Schema):
    external_id: uuid.UUID
    checker: str
    assignee: str
    title: str
    due_date: dt.date
    interval_days: int | None
    status: str
    performed_on: dt.date | None
    findings: str
    signed_off_by: str | None

    @staticmethod
    def resolve_assignee(obj: Any) -> str:
        return obj.assignee.username

    @staticmethod
    def resolve_signed_off_by(obj: Any) -> str | None:
        return obj.signed_off_by.username if obj.signed_off_by_id else None


class CheckIn(Schema):
    checker: Literal["administrator", "responsible_physician"]
    assignee: str  # username
    title: str
    due_date: dt.date
    interval_days: int | None = None
    plan: uuid.UUID | None = None


class SignOffIn(Schema):
    performed_on: dt.date
    findings: str


@router.get("/regulatory/checks", response={200: Page[CheckOut], **ERROR_RESPONSES})
def check_list(request: HttpRequest, page: Query[PageQuery]) -> dict:
    """Periodic checks: all of them for the office, one's own for anyone else."""
    return page_of(ds.check_list(actor=staff_user(request)), page)


@router.post("/regulatory/checks", response={200: CheckOut, **ERROR_RESPONSES})
def check_schedule(request: HttpRequest, payload: CheckIn) -> PeriodicCheck:
    actor = staff_user(request)
    plan = selectors.plan_get(actor=actor, external_id=payload.plan) if payload.plan else None
    return services.periodic_check_schedule(
        actor=actor,
        checker=payload.checker,
        assignee=_colleague(actor, payload.assignee, "assignee"),
        title=payload.title,
        due_date=payload.due_date,
        interval_days=payload.interval_days,
        plan=plan,
    )


@router.post(
    "/regulatory/checks/{external_id}/sign-off", response={200: CheckOut, **ERROR_RESPONSES}
)
def check_sign_off(request: HttpRequest, external_id: str, payload: SignOffIn) -> PeriodicCheck:
    """The assignee signs the check off with findings."""
    actor = staff_user(request)
    check = ds.check_get(actor=actor, external_id=external_id)
    return services.periodic_check_sign_off(
        actor=actor, check=check, performed_on=payload.performed_on, findings=payload.findings
    )


# --- committee opinions ------------------------------------------------------------------------


class ActionOut(Schema):
    external_id: uuid.UUID
    description: str
    owner: str
    due_date: dt.date | None
    status: str
    closed_on: dt.date | None
    evidence: str

    @staticmethod
    def resolve_owner(obj: Any) -> str:
        return obj.owner.username


class OpinionOut(Schema):
    external_id: uuid.UUID
    committee: str
    opinion_date: dt.date
    summary: str
    text: str
    actions: list[ActionOut]

    @staticmethod
    def resolve_committee(obj: Any) -> str:
        return obj.committee.name

    @staticmethod
    def resolve_actions(obj: Any) -> list[Any]:
        return list(obj.actions.all())


class ActionIn(Schema):
    description: str
    owner: str  # username
    due_date: dt.date | None = None


class OpinionIn(Schema):
    committee: uuid.UUID
    plan: uuid.UUID | None = None
    opinion_date: dt.date
    summary: str
    text: str = ""
    actions: list[ActionIn] = []


class ActionCloseIn(Schema):
    closed_on: dt.date
    evidence: str


@router.get("/regulatory/committee-opinions", response={200: Page[OpinionOut], **ERROR_RESPONSES})
def opinion_list(request: HttpRequest, page: Query[PageQuery]) -> dict:
    actor = _require_duties(request)
    return page_of(ds.opinion_list(actor=actor), page)


@router.post("/regulatory/committee-opinions", response={200: OpinionOut, **ERROR_RESPONSES})
def opinion_record(request: HttpRequest, payload: OpinionIn) -> CommitteeOpinion:
    """Record a committee opinion with the actions it requires."""
    actor = staff_user(request)
    committee = get_scoped(selectors.committee_list(actor=actor), payload.committee)
    plan = selectors.plan_get(actor=actor, external_id=payload.plan) if payload.plan else None
    opinion = services.committee_opinion_record(
        actor=actor,
        committee=committee,
        plan=plan,
        opinion_date=payload.opinion_date,
        summary=payload.summary,
        text=payload.text,
        actions=[
            (a.description, _colleague(actor, a.owner, "actions"), a.due_date)
            for a in payload.actions
        ],
    )
    return ds.opinion_get(actor=actor, external_id=opinion.external_id)


@router.post(
    "/regulatory/committee-actions/{external_id}/close",
    response={200: ActionOut, **ERROR_RESPONSES},
)
def action_close(request: HttpRequest, external_id: str, payload: ActionCloseIn) -> CommitteeAction:
    """Close a required action; evidence is required (409 without it)."""
    actor = _require_duties(request)
    action = ds.action_get(actor=actor, external_id=external_id)
    return services.committee_action_close(
        actor=actor, action=action, evidence=payload.evidence, closed_on=payload.closed_on
    )
