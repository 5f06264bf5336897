"""Core API: the current user, organisations and sites in scope, and the audit ledger."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from saisei.core import permissions, selectors
from saisei.core.api_support import ERROR_RESPONSES, ApiDateTime, Page, PageQuery, page_of
from saisei.core.errors import Forbidden
from saisei.core.permissions import staff_user

router = Router(tags=["core"])


class OrganisationOut(Schema):
    external_id: uuid.UUID
    name: str
    name_ja: str
    kind: str


class MeOut(Schema):
    username: str
    display_name: str
    email: str
    roles: list[str]
    organisation: OrganisationOut | None
    two_factor_enabled: bool
    language: str


class SiteOut(Schema):
    external_id: uuid.UUID
    name: str
    name_ja: str
    kind: str
    address: str
    organisation: uuid.UUID

    @staticmethod
    def resolve_organisation(obj) -> uuid.UUID:
        return obj.organisation.external_id


class AuditEntryOut(Schema):
    seq: int
    at: dt.datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    reason: str
    request_id: str
    client_ip: str | None
    changes: dict
    prev_hash: str
    entry_hash: str

    @staticmethod
    def resolve_actor(obj) -> str:
        return obj.actor_label


class AuditFilter(PageQuery):
    action: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    actor: str | None = None
    since: ApiDateTime | None = None
    until: ApiDateTime | None = None


@router.get("/me", response={200: MeOut, **ERROR_RESPONSES})
def me(request: HttpRequest) -> dict:
    user = staff_user(request)
    return {
        "username": user.username,
        "display_name": str(user),
        "email": user.email,
        "roles": sorted(user.roles),
        "organisation": user.organisation,
        "two_factor_enabled": user.two_factor_enabled,
        "language": user.preferred_language,
    }


@router.get("/organisations", response={200: list[OrganisationOut], **ERROR_RESPONSES})
def organisations(request: HttpRequest) -> list:
    return list(selectors.organisation_list(actor=staff_user(request)))


@router.get("/sites", response={200: list[SiteOut], **ERROR_RESPONSES})
def sites(request: HttpRequest, kind: str | None = None) -> list:
    return list(selectors.site_list(actor=staff_user(request), kind=kind))


@router.get("/sites/{external_id}", response={200: SiteOut, **ERROR_RESPONSES})
def site(request: HttpRequest, external_id: str) -> object:
    return selectors.site_get(actor=staff_user(request), external_id=external_id)


@router.get("/audit", response={200: Page[AuditEntryOut], **ERROR_RESPONSES})
def audit(request: HttpRequest, filters: Query[AuditFilter]) -> dict:
    if not permissions.can_view_audit(staff_user(request)):
        raise Forbidden()
    qs = selectors.audit_entry_list(
        actor=staff_user(request),
        action=filters.action,
        subject_type=filters.subject_type,
        subject_id=filters.subject_id,
        actor_username=filters.actor,
        since=filters.since,
        until=filters.until,
    )
    return page_of(qs, filters)


class AccessLogEntryOut(Schema):
    at: dt.datetime
    user: str
    channel: str
    subject_type: str
    subject_id: str
    label: str
    patient_id: str
    patient_label: str
    client_ip: str | None
    user_agent: str
    request_id: str

    @staticmethod
    def resolve_user(obj) -> str:
        return obj.actor_label


class AccessLogFilter(PageQuery):
    patient: str | None = Field(None, max_length=64, description="Patient external id or code")
    user: str | None = Field(None, max_length=150, description="Username of the reader")
    since: dt.datetime | None = Field(None, description="From this time (inclusive)")
    until: dt.datetime | None = Field(None, description="Before this time (exclusive)")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


@router.get("/access-log", response={200: Page[AccessLogEntryOut], **ERROR_RESPONSES})
def access_log(request: HttpRequest, filters: Query[AccessLogFilter]) -> dict:
    """Who read which patient's record, document or export (compliance officers, org admins)."""
    if not permissions.can_view_access_log(staff_user(request)):
        raise Forbidden()
    qs = selectors.access_log_list(
        actor=staff_user(request),
        patient=filters.patient,
        user=filters.user,
        since=filters.since,
        until=filters.until,
    )
    return page_of(qs, filters)


# --- retention and handover archives (core.retention, core.records) ---------------------------


class RetentionRowOut(Schema):
    model: str
    name: str
    years: int
    certain: bool
    start_event: str
    source: str
    count: int
    voided: int
    earliest_disposal: dt.date | None


class DisposeIn(Schema):
    model: str = Field(..., max_length=100, description="record class, e.g. outcomes.Assessment")
    id: uuid.UUID
    reason: str = Field(..., max_length=2000)


class DisposeOut(Schema):
    model: str
    id: uuid.UUID
    voided_at: dt.datetime | None


class ArchiveIn(Schema):
    reason: str = Field(..., max_length=2000)


class ArchiveOut(Schema):
    id: uuid.UUID = Field(..., alias="external_id")
    status: str
    reason: str
    sha256: str
    files: int
    created_at: dt.datetime
    finished_at: dt.datetime | None


@router.get("/retention", response={200: list[RetentionRowOut], **ERROR_RESPONSES})
def retention(request: HttpRequest) -> list:
    from django.utils.translation import gettext as _

    from saisei.core.records import can_manage_records
    from saisei.core.retention import retention_report

    actor = staff_user(request)
    if not can_manage_records(actor):
        raise Forbidden()
    return [
        {
            "model": row.model,
            "name": row.name,
            "years": row.rule.years,
            "certain": row.rule.certain,
            "start_event": _(row.rule.start.label),
            "source": _(row.rule.source),
            "count": row.count,
            "voided": row.voided,
            "earliest_disposal": row.earliest_purge,
        }
        for row in retention_report(organisation=actor.organisation)
    ]


@router.post("/retention/dispose", response={200: DisposeOut, **ERROR_RESPONSES})
def retention_dispose(request: HttpRequest, payload: DisposeIn) -> dict:
    from saisei.core.records import can_manage_records, record_dispose, record_get

    actor = staff_user(request)
    if not can_manage_records(actor):
        raise Forbidden()
    record = record_get(actor=actor, model=payload.model, external_id=str(payload.id))
    record = record_dispose(actor=actor, record=record, reason=payload.reason)
    return {"model": payload.model, "id": record.external_id, "voided_at": record.voided_at}


@router.get("/archives", response={200: list[ArchiveOut], **ERROR_RESPONSES})
def archives(request: HttpRequest) -> list:
    from saisei.core.models import HandoverArchive
    from saisei.core.records import can_archive

    actor = staff_user(request)
    if not can_archive(actor):
        raise Forbidden()
    return list(HandoverArchive.objects.filter(organisation_id=permissions.org_id_of(actor))[:100])


@router.post("/archives", response={202: ArchiveOut, **ERROR_RESPONSES})
def archive_start(request: HttpRequest, payload: ArchiveIn) -> Any:
    from saisei.core.records import archive_start as start

    return Status(202, start(actor=staff_user(request), reason=payload.reason))
