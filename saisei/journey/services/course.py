"""Treatment courses and their steps: create from a package, schedule through the gate, close."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saisei.core.audit import audit_record
from saisei.core.models import User
from saisei.core.timezones import TOKYO

from .. import permissions as perms
from ..lifecycles import COURSE, COURSE_STEP, follow
from ..models import (
    CourseStep,
    Patient,
    Prescreen,
    TreatmentCourse,
    TreatmentPackage,
)
from ._common import Conflict, ValidationFailed, require


def course_instantiate(
    *,
    actor: User,
    patient: Patient,
    package: TreatmentPackage,
    harvest_date: dt.date,
    physician: Any = None,
    facility: Any = None,
    visit_dates: dict[tuple[str, int], dt.date] | None = None,
) -> TreatmentCourse:
    """Create a course from the plan's package: consultation, harvest, culture, N infusions at the
    interval and follow-up assessments. Dates come from the itinerary when one is given.

    ``physician`` performs the harvest and infusions and ``facility`` processes the cells; the
    gate checks both against the plan when the course is scheduled."""
    require(perms.can_manage_course, actor, patient)
    if package.organisation_id != patient.organisation_id:
        raise ValidationFailed("package_not_found", _("Unknown package."))
    for name, obj in (("physician", physician), ("facility", facility)):
        if obj is not None and obj.organisation_id != patient.organisation_id:
            raise ValidationFailed(
                f"{name}_not_found", _("Unknown %(what)s.") % {"what": name}, {name: ["?"]}
            )
    decided = (
        Prescreen.objects.filter(patient=patient, plan=package.plan, voided_at__isnull=True)
        .exclude(decision="")
        .order_by("-decided_at")
        .first()
    )
    if decided is None or decided.decision != "eligible":
        raise Conflict(
            "not_prescreened_eligible",
            _("A physician must first decide and sign that the patient is eligible."),
        )
    if TreatmentCourse.objects.filter(
        patient=patient, plan=package.plan, status__in=["planned", "scheduled", "in_progress"]
    ).exists():
        raise Conflict("course_exists", _("The patient already has an open course on this plan."))
    steps = _course_steps(package=package, harvest_date=harvest_date, visit_dates=visit_dates)
    with transaction.atomic():
        course = TreatmentCourse.objects.create(
            organisation=patient.organisation,
            patient=patient,
            plan=package.plan,
            physician=physician,
            facility=facility,
            package={
                "code": package.code,
                "name": package.name,
                "infusions": package.infusions,
                "interval_days": package.interval_days,
                "culture_days": package.culture_days,
                "route": package.route,
                "dose_cells": package.dose_cells,
                "follow_up_months": package.follow_up_months,
            },
        )
        CourseStep.objects.bulk_create(
            [
                CourseStep(
                    organisation=patient.organisation,
                    course=course,
                    kind=kind,
                    number=n,
                    planned_date=day,
                    route=route,
                    planned_dose_cells=dose,
                )
                for kind, n, day, route, dose in steps
            ]
        )
        audit_record(
            actor=actor,
            organisation=patient.organisation,
            action="course.instantiate",
            subject=course,
            changes={"package": package.code, "harvest": harvest_date, "steps": len(steps)},
        )
    return course


def _course_steps(
    *,
    package: TreatmentPackage,
    harvest_date: dt.date,
    visit_dates: dict[tuple[str, int], dt.date] | None,
) -> list[tuple[str, int, dt.date, str, int | None]]:
    """The course's steps as (kind, number, planned date, route, dose): consultation the day
    before the harvest, culture until release, the infusions at the package's interval and the
    follow-up assessments after the last one; a date the itinerary gives takes precedence."""
    dates = dict(visit_dates or {})
    release = dates.get(("culture", 1), harvest_date + dt.timedelta(days=package.culture_days))
    first_infusion = dates.get(("infusion", 1), release + dt.timedelta(days=1))
    steps: list[tuple[str, int, dt.date, str, int | None]] = [
        (
            "consultation",
            1,
            dates.get(("consultation", 1), harvest_date - dt.timedelta(days=1)),
            "",
            None,
        ),
        ("harvest", 1, dates.get(("harvest", 1), harvest_date), "", None),
        ("culture", 1, release, "", None),
    ]
    for n in range(1, package.infusions + 1):
        default = first_infusion + dt.timedelta(days=package.interval_days * (n - 1))
        steps.append(
            ("infusion", n, dates.get(("infusion", n), default), package.route, package.dose_cells)
        )
    last = steps[-1][2]
    for n, months in enumerate(package.follow_up_months or [], start=1):
        steps.append(("assessment", n, last + dt.timedelta(days=round(30.44 * months)), "", None))
    return steps


GATED_KINDS = {"harvest": "harvest", "infusion": "administration"}


def step_gate_check(
    *, actor: User, step: CourseStep, at: dt.datetime | None = None
) -> dict[str, Any]:
    """Ask the compliance gate whether this planned harvest or infusion may happen (DESIGN
    invariant 1), with the facts the course records: its performing physician, its processing
    facility, the step's planned route and dose, and the patient's coded diagnosis. The cell
    source is the one the plan version in force on the day describes (the patient's own cells,
    or a donor's under an allogeneic plan, whose harvest names the donor; decision 0023). A fact
    the course does not hold is left out, and the gate refuses."""
    from saisei.regulatory.selectors import version_in_force
    from saisei.regulatory.services import gate_check

    course = step.course
    day = step.planned_date or timezone.localdate()
    when = at or dt.datetime.combine(day, dt.time(10, 0), tzinfo=TOKYO)
    act = GATED_KINDS[step.kind]
    physician = course.physician
    version = version_in_force(list(course.plan.versions.all()), day=day)
    has_harvest = course.steps.filter(kind="harvest").exists()
    cell_source = version.cell_origin if version is not None and has_harvest else None
    result = gate_check(
        actor=actor,
        act=act,
        # The act takes place where the performing physician practises (their registry entry);
        # the plan's own institution is what that place is checked against.
        institution=physician.institution if physician is not None else None,
        physician=physician,
        patient=course.patient,
        plan=course.plan,
        route=step.route or None,
        dose_cells=step.planned_dose_cells,
        administration_number=step.number if step.kind == "infusion" else None,
        at=when,
        cell_source=cell_source,
        facility=course.facility,
    )
    data = result.as_dict()
    data["act_date"] = str(data.get("act_date"))
    if at is None and step.kind == "infusion":
        # Scheduled ahead, infusion n cannot yet follow n-1 recorded administrations; the
        # sequence is checked again when the infusion happens (treatment app).
        data["findings"] = [
            f for f in data["findings"] if f["rule"] != "GATE-ADMINISTRATION-SEQUENCE"
        ]
        data["allowed"] = not any(f["severity"] == "block" for f in data["findings"])
    return data


def course_schedule(*, actor: User, course: TreatmentCourse) -> TreatmentCourse:
    """Schedule every planned step; harvest and infusions are checked against the compliance gate
    for their planned date, and a refused step stays blocked with the gate's reasons."""
    require(perms.can_manage_course, actor, course)
    COURSE.check(course, "schedule", actor=actor)
    from ..selectors import patient_has_withdrawn

    if patient_has_withdrawn(patient_id=course.patient_id):
        raise Conflict("consent_withdrawn", _("Consent was withdrawn; no further steps."))
    now = timezone.now()
    blocked = []
    with transaction.atomic():
        steps = course.steps.filter(status__in=["planned", "blocked"])
        for step in steps.order_by("planned_date"):
            if step.kind not in GATED_KINDS:
                COURSE_STEP.apply(step, "schedule", actor=actor)
                continue
            result = step_gate_check(actor=actor, step=step)
            COURSE_STEP.apply(
                step,
                "schedule" if result["allowed"] else "block",
                actor=actor,
                updates={"gate_checked_at": now, "gate_result": result},
                changes={"allowed": result["allowed"]},
            )
            if not result["allowed"]:
                blocked.append(f"{step.kind} {step.number}")
        if blocked:
            audit_record(
                actor=actor,
                organisation=course.organisation,
                action="course.schedule",
                subject=course,
                changes={"blocked": blocked},
            )
            return course
        return COURSE.apply(
            course,
            "schedule",
            actor=actor,
            changes={"blocked": blocked},
            audit_action="course.schedule",
        )


RECORDED_BY = {
    "harvest": _("A harvest step is done when the harvest is recorded (with its DIN)."),
    "infusion": _("An infusion step is done when its administration is recorded at the bedside."),
}


def course_step_complete(
    *, actor: User, step: CourseStep, at: dt.datetime | None = None
) -> CourseStep:
    """Record that a consultation, culture or assessment step happened.

    Harvest and infusion steps are the gated acts themselves: they close only when the act is
    recorded (``donation_record`` in processing, ``administration_record`` in treatment), each of
    which passes the compliance gate; this service never marks them done on its own.
    """
    require(perms.can_manage_course, actor, step)
    at = at or timezone.now()
    COURSE_STEP.check(step, "complete", actor=actor)
    if step.course.status in ("stopped", "completed"):
        raise Conflict("course_closed", _("The course is closed."))
    from ..selectors import patient_has_withdrawn

    if patient_has_withdrawn(patient_id=step.course.patient_id, at=at):
        raise Conflict("consent_withdrawn", _("Consent was withdrawn; no further steps."))
    if step.kind in GATED_KINDS:
        raise Conflict(
            "step_needs_record",
            RECORDED_BY[step.kind],
            {"step": [RECORDED_BY[step.kind]]},
        )
    return _step_mark_done(actor=actor, step=step, at=at, move="complete")


def _step_mark_done(
    *,
    actor: User,
    step: CourseStep,
    at: dt.datetime,
    move: str = "record_act",
    evidence: dict[str, Any] | None = None,
) -> CourseStep:
    """Close a step, start the course if it was only scheduled, and record it in the ledger."""
    with transaction.atomic():
        COURSE_STEP.apply(
            step,
            move,
            actor=actor,
            updates={"done_at": at},
            changes={"kind": step.kind, "number": step.number, "at": at, **(evidence or {})},
            audit_action="course_step.complete",
        )
        follow(COURSE, step.course, "start", actor=actor)
    return step


def course_step_record_administration(
    *, actor: User, step: CourseStep, administration_ref: str, at: dt.datetime
) -> CourseStep:
    """Mark an infusion step done because a scan-verified administration was recorded.

    Called only by treatment's ``administration_record``, which has just passed the compliance
    gate for this act (DESIGN invariant 1) inside the same transaction; the administration's
    reference is the step's evidence.
    """
    if step.kind != CourseStep.Kind.INFUSION:
        raise Conflict("step_not_infusion", _("Only an infusion step takes an administration."))
    if step.status == CourseStep.Status.DONE:
        return step
    return _step_mark_done(
        actor=actor, step=step, at=at, evidence={"administration": administration_ref}
    )


def course_step_record_harvest(
    *, actor: User, course: TreatmentCourse, donation_ref: str, at: dt.datetime
) -> CourseStep | None:
    """Close the course's open harvest step because its harvest was recorded.

    Called only by processing's ``donation_record`` after the compliance gate passed for the
    harvest of this course; a course with no open harvest step (a repeat harvest) has none to
    close.
    """
    step = (
        CourseStep.objects.select_for_update()
        .filter(
            course=course,
            course__status__in=["planned", "scheduled", "in_progress"],
            kind=CourseStep.Kind.HARVEST,
            status__in=["planned", "scheduled", "blocked"],
            voided_at__isnull=True,
        )
        .select_related("course")
        .order_by("planned_date", "pk")
        .first()
    )
    if step is None:
        return None
    return _step_mark_done(actor=actor, step=step, at=at, evidence={"donation": donation_ref})
