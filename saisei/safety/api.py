"""safety API: adverse events with their reporting clocks, follow-ups, report data, triage."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Router, Schema

from saisei.core.api_support import ERROR_RESPONSES, ApiDateTime, Page, paginate
from saisei.core.errors import ValidationFailed
from saisei.core.permissions import staff_user
from saisei.core.selectors import get_scoped
from saisei.safety import reports, selectors, services
from saisei.safety.models import AdverseEvent

router = Router(tags=["safety"])

RELATEDNESS = "^(not_assessed|not_related|unlikely|possible|probable|definite)$"
OUTCOME = "^(recovered|recovering|not_recovered|sequelae|fatal|unknown)$"


_actor = staff_user  # the signed-in staff user (login is required)


class ClockOut(Schema):
    obligation: str
    recipient: str
    rule: str
    due_date: dt.date
    status: str
    days_left: int
    hours_left: int
    overdue: bool
    source: str


class EventFieldsIn(Schema):
    vocabulary_code: str = Field("", max_length=60)
    meddra_code: str = Field("", max_length=20)
    description: str = Field("", max_length=8000)
    death: bool = False
    life_threatening: bool = False
    hospitalisation: bool = False
    disability: bool = False
    congenital_anomaly: bool = False
    other_medically_important: bool = False
    related_harvest: str = Field("not_assessed", pattern=RELATEDNESS)
    related_cells: str = Field("not_assessed", pattern=RELATEDNESS)
    related_administration: str = Field("not_assessed", pattern=RELATEDNESS)
    action_taken: str = Field("", max_length=4000)
    outcome: str = Field("unknown", pattern=OUTCOME)


class EventIn(EventFieldsIn):
    patient: UUID
    term: str = Field(..., min_length=1, max_length=200)
    onset_date: dt.date
    severity_grade: int = Field(..., ge=1, le=5)
    aware_at: ApiDateTime | None = None
    administration: UUID | None = None


class EventOut(Schema):
    id: UUID = Field(..., alias="external_id")
    number: str
    patient_code: str = Field(..., alias="patient.patient_code")
    term: str
    vocabulary_code: str
    meddra_code: str
    onset_date: dt.date
    aware_at: dt.datetime
    severity_grade: int
    serious: bool
    seriousness_criteria: list[str]
    reporting_level: str
    related_harvest: str
    related_cells: str
    related_administration: str
    outcome: str
    source: str
    status: str
    lot: str | None
    clocks: list[ClockOut]
    warnings: list[str]

    @staticmethod
    def resolve_warnings(obj: AdverseEvent) -> list[str]:
        from saisei.safety.services import no_plan_warning

        return [no_plan_warning(obj)] if obj.plan_id is None else []

    @staticmethod
    def resolve_lot(obj: AdverseEvent) -> str | None:
        return obj.lot.number if obj.lot is not None else None

    @staticmethod
    def resolve_clocks(obj: AdverseEvent) -> list[dict[str, Any]]:
        return [c.as_dict() for c in getattr(obj, "clocks", [])]


class FollowUpIn(Schema):
    note: str = Field(..., min_length=1, max_length=8000)
    outcome: str = Field("", pattern=f"^$|{OUTCOME[1:-1]}")


class FollowUpOut(Schema):
    number: int
    recorded_at: dt.datetime
    note: str
    outcome: str


class PatientReportOut(Schema):
    id: UUID = Field(..., alias="external_id")
    patient_code: str = Field(..., alias="patient.patient_code")
    reporter: str
    started_on: dt.date | None
    description: str
    how_bad: str
    submitted_at: dt.datetime
    status: str
    adverse_event: str | None

    @staticmethod
    def resolve_adverse_event(obj: Any) -> str | None:
        return obj.adverse_event.number if obj.adverse_event_id else None


class TriageIn(Schema):
    decision: str = Field(..., pattern="^(adverse_event|not_adverse_event)$")
    note: str = Field("", max_length=4000)
    event: EventFieldsIn | None = None
    term: str = Field("", max_length=200)
    severity_grade: int | None = Field(None, ge=1, le=5)
    onset_date: dt.date | None = None


def _event(request: HttpRequest, external_id: Any) -> AdverseEvent:
    event = selectors.adverse_event_get(actor=_actor(request), external_id=external_id)
    selectors.attach_clocks([event])
    return event


@router.get(
    "/safety/events",
    response={200: Page[EventOut], **ERROR_RESPONSES},
    summary="Adverse events with their reporting clocks",
)
def event_index(
    request: HttpRequest,
    serious: bool = False,
    open_only: bool = False,
    limit: int = 50,
    offset: int = 0,
    after: str = "",
) -> Any:
    qs = selectors.adverse_event_list(
        actor=_actor(request), serious_only=serious, open_only=open_only
    )
    page = paginate(qs, limit=limit, offset=offset, after=after)
    selectors.attach_clocks(page["items"])
    return page


@router.post(
    "/safety/events",
    response={201: EventOut, **ERROR_RESPONSES},
    summary="Record an adverse event; a serious one starts its reporting clocks at once",
)
def event_create(request: HttpRequest, payload: EventIn) -> Any:
    from saisei.journey.selectors import patients_of_organisation

    actor = _actor(request)
    patient = get_scoped(
        patients_of_organisation(actor=actor).filter(voided_at__isnull=True), payload.patient
    )
    administration = None
    if payload.administration:
        from saisei.treatment.selectors import administration_get

        administration = administration_get(actor=actor, external_id=payload.administration)
    if payload.aware_at is not None and payload.aware_at.tzinfo is None:
        raise ValidationFailed(
            "naive_datetime", "Times must include a time zone.", {"aware_at": ["timezone"]}
        )
    fields = payload.dict(
        exclude={"patient", "term", "onset_date", "severity_grade", "aware_at", "administration"}
    )
    event = services.adverse_event_record(
        actor=actor,
        patient=patient,
        term=payload.term,
        onset_date=payload.onset_date,
        severity_grade=payload.severity_grade,
        aware_at=payload.aware_at,
        administration=administration,
        **fields,
    )
    return 201, _event(request, event.external_id)


@router.get("/safety/events/{external_id}", response={200: EventOut, **ERROR_RESPONSES})
def event_detail(request: HttpRequest, external_id: str) -> Any:
    return _event(request, external_id)


class SeriousnessIn(Schema):
    """The criteria to set (omitted ones stay) and when the new information became known."""

    death: bool | None = None
    life_threatening: bool | None = None
    hospitalisation: bool | None = None
    disability: bool | None = None
    congenital_anomaly: bool | None = None
    other_medically_important: bool | None = None
    severity_grade: int | None = Field(None, ge=1, le=5)
    known_at: ApiDateTime | None = None


@router.post(
    "/safety/events/{external_id}/seriousness",
    response={200: EventOut, **ERROR_RESPONSES},
    summary="Change an event's seriousness; stricter clocks start from the day it became known",
)
def event_seriousness(request: HttpRequest, external_id: str, payload: SeriousnessIn) -> Any:
    """Clocks already running stay where they are; new ones count from ``known_at`` (default now)."""
    event = selectors.adverse_event_get(actor=_actor(request), external_id=external_id)
    fields = payload.dict(exclude={"known_at"}, exclude_none=True)
    if not fields:
        raise ValidationFailed(
            "invalid_input", "Name at least one seriousness criterion.", {"body": ["empty"]}
        )
    services.adverse_event_update(
        actor=_actor(request), event=event, known_at=payload.known_at, **fields
    )
    return _event(request, external_id)


@router.get(
    "/safety/events/{external_id}/report",
    response={200: dict, **ERROR_RESPONSES},
    summary="The adverse-event report as structured data, with the other doses of the lot",
)
def event_report(request: HttpRequest, external_id: str) -> Any:
    import json

    event = _event(request, external_id)
    data = reports.adverse_event_report_data(event=event)
    data["lot_impact"] = reports.lot_impact(event=event)
    data["clocks"] = [c.as_dict() for c in event.clocks]  # type: ignore[attr-defined]
    return json.loads(json.dumps(data, default=str))


@router.post(
    "/safety/events/{external_id}/follow-ups",
    response={201: FollowUpOut, **ERROR_RESPONSES},
)
def follow_up_create(request: HttpRequest, external_id: str, payload: FollowUpIn) -> Any:
    event = _event(request, external_id)
    follow_up = services.adverse_event_follow_up(
        actor=_actor(request), event=event, note=payload.note, outcome=payload.outcome
    )
    return 201, follow_up


@router.get(
    "/safety/patient-reports",
    response={200: Page[PatientReportOut], **ERROR_RESPONSES},
    summary="Problems reported through the portal; status=new is the triage queue",
)
def patient_report_index(
    request: HttpRequest,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
    after: str = "",
) -> Any:
    if status == "new":
        qs = selectors.triage_queue(actor=_actor(request))
    else:
        qs = selectors.patient_report_list(actor=_actor(request), status=status)
    return paginate(qs, limit=limit, offset=offset, after=after)


@router.post(
    "/safety/patient-reports/{external_id}/triage",
    response={200: PatientReportOut, **ERROR_RESPONSES},
)
def patient_report_triage(request: HttpRequest, external_id: str, payload: TriageIn) -> Any:
    report = selectors.patient_report_get(actor=_actor(request), external_id=external_id)
    fields: dict[str, Any] | None = None
    if payload.decision == "adverse_event":
        fields = payload.event.dict() if payload.event else {}
        for key in ("term", "severity_grade", "onset_date"):
            value = getattr(payload, key)
            if value:
                fields[key] = value
    report = services.patient_report_triage(
        actor=_actor(request),
        report=report,
        decision=payload.decision,
        note=payload.note,
        event_fields=fields,
    )
    return selectors.patient_report_get(actor=_actor(request), external_id=report.external_id)
