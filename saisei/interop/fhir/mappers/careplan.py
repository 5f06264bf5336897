"""CarePlan (FHIR R4) <- journey.TreatmentCourse: one patient's course and its steps."""

from __future__ import annotations

from typing import Any

from saisei.interop.fhir.common import fhir_id, instant, meta, prune, reference, uuid_identifier

COURSE_STATUS = {
    "planned": "active",
    "scheduled": "active",
    "in_progress": "active",
    "completed": "completed",
    "stopped": "revoked",
}
STEP_STATUS = {
    "planned": "not-started",
    "scheduled": "scheduled",
    "blocked": "on-hold",
    "done": "completed",
    "cancelled": "cancelled",
}


def _activity(step: Any) -> dict[str, Any]:
    label = step.get_kind_display()
    if step.kind == "infusion":
        label = f"{label} {step.number}"
    detail: dict[str, Any] = {"status": STEP_STATUS[step.status], "code": {"text": label}}
    if step.planned_date:
        detail["scheduledPeriod"] = {"start": step.planned_date.isoformat()}
    return {"detail": detail}


def care_plan(course: Any) -> dict[str, Any]:
    period: dict[str, Any] = {"start": instant(course.created_at)}
    if course.stopped_at:
        period["end"] = instant(course.stopped_at)
    steps = sorted((s for s in course.steps.all() if s.voided_at is None), key=lambda s: (s.pk,))
    return prune(
        {
            "resourceType": "CarePlan",
            "id": fhir_id(course.external_id),
            "meta": meta(course.updated_at),
            "identifier": [uuid_identifier(course.external_id)],
            "status": COURSE_STATUS[course.status],
            "intent": "plan",
            "title": course.plan.title,
            "subject": reference(
                "Patient", course.patient.external_id, course.patient.display_name
            ),
            "period": period,
            "author": reference("Practitioner", course.physician.external_id, course.physician.name)
            if course.physician
            else None,
            # The provision plan the course is given under (ASRM): R4 CarePlan has no element
            # for it other than supporting information.
            "supportingInfo": [
                reference("PlanDefinition", course.plan.external_id, course.plan.title)
            ],
            "note": [{"text": course.stop_reason}] if course.stop_reason else [],
            "activity": [_activity(step) for step in steps],
        }
    )
