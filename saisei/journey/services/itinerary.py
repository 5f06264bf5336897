"""Itineraries: plan and re-plan the patient's trips, keeping what changed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext_lazy as _

from saisei.core.audit import audit_record
from saisei.core.models import User

from .. import permissions as perms
from ..models import (
    Itinerary,
    Patient,
    TreatmentCourse,
)
from ._common import Conflict, ValidationFailed, require, stored_message


def itinerary_save(
    *,
    actor: User,
    patient: Patient,
    request_data: dict[str, Any],
    itinerary: Any,
    previous: Any = None,
    course: TreatmentCourse | None = None,
) -> Itinerary:
    """Store a planned itinerary as the patient's current one, with what changed since the last."""
    require(perms.can_plan_itinerary, actor, patient)
    from ..itinerary import diff_itineraries

    changes = (
        [stored_message(m) for m in diff_itineraries(old=previous, new=itinerary)]
        if previous is not None
        else []
    )
    with transaction.atomic():
        last = Itinerary.objects.filter(patient=patient).aggregate(m=Max("version"))["m"] or 0
        Itinerary.objects.filter(patient=patient, is_current=True).update(is_current=False)
        plan = itinerary.as_dict(language="en")
        plan.pop("explanations", None)
        obj = Itinerary.objects.create(
            organisation=patient.organisation,
            patient=patient,
            course=course,
            version=last + 1,
            request=request_data,
            plan=plan,
            explanations=[stored_message(m) for m in itinerary.explanations],
            changes=changes,
            created_by=actor,
        )
        audit_record(
            actor=actor,
            organisation=patient.organisation,
            action="itinerary.plan",
            subject=obj,
            changes={"version": obj.version, "trips": len(plan["trips"]), "changes": len(changes)},
        )
    return obj


def itinerary_plan(
    *,
    actor: User,
    patient: Patient,
    request_data: dict[str, Any],
    course: TreatmentCourse | None = None,
) -> Itinerary:
    """Plan (or re-plan) the patient's trips; a re-plan records what moved since the current plan."""
    from .. import planning
    from ..selectors import itinerary_current

    require(perms.can_plan_itinerary, actor, patient)
    institution = course.plan.institution if course else None
    req, new = planning.plan(request_data, institution=institution)
    previous = None
    current = itinerary_current(patient=patient)
    if current is not None:
        try:
            previous = planning.plan(current.request, institution=institution)[1]
        except ValidationFailed:
            previous = None
    return itinerary_save(
        actor=actor,
        patient=patient,
        request_data=planning.request_to_data(req),
        itinerary=new,
        previous=previous,
        course=course or (current.course if current else None),
    )


def itinerary_replan(
    *,
    actor: User,
    patient: Patient,
    through: dt.date,
    culture_ready_by: dt.date | None = None,
    culture_days: int | None = None,
) -> Itinerary:
    """Re-plan after a forecast or a visit moves: visits up to `through` stay as they are (done or
    booked), the rest move; the stored itinerary records what changed."""
    from .. import planning
    from ..itinerary import fix_visits_through
    from ..selectors import itinerary_current

    require(perms.can_plan_itinerary, actor, patient)
    current = itinerary_current(patient=patient)
    if current is None:
        raise Conflict("no_itinerary", _("Plan an itinerary first."))
    institution = current.course.plan.institution if current.course else None
    old_req, old = planning.plan(current.request, institution=institution)
    changes: dict[str, Any] = {}
    if culture_ready_by is not None:
        changes["culture_ready_by"] = culture_ready_by
    if culture_days is not None:
        changes["culture_days"] = culture_days
    new_req = fix_visits_through(request=old_req, itinerary=old, through=through, **changes)
    calendar = planning.clinic_calendar(
        institution=institution, start=new_req.earliest_arrival, end=new_req.latest_return
    )
    from ..itinerary import plan_itinerary

    new = plan_itinerary(request=new_req, calendar=calendar)
    return itinerary_save(
        actor=actor,
        patient=patient,
        request_data=planning.request_to_data(new_req),
        itinerary=new,
        previous=old,
        course=current.course,
    )
