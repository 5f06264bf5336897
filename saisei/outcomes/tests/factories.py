"""Factories for outcome records (tests only): a treated patient with a course and its steps."""

from __future__ import annotations

import datetime as dt
from typing import Any

from saisei.journey.models import TreatmentCourse
from saisei.journey.tests.factories import (
    CourseStepFactory,
    PatientFactory,
    TreatmentCourseFactory,
)
from saisei.regulatory.tests.factories import PlanFactory


def course_with_steps(
    *,
    organisation: Any,
    harvest: dt.date,
    infusions: int = 3,
    interval_days: int = 28,
    culture_days: int = 35,
    patient: Any = None,
    plan: Any = None,
) -> TreatmentCourse:
    """A course as journey lays it out: harvest, culture, then infusions at a fixed interval."""
    patient = patient or PatientFactory(organisation=organisation)
    plan = plan or PlanFactory(organisation=organisation)
    course = TreatmentCourseFactory(
        organisation=organisation,
        patient=patient,
        plan=plan,
        package={"follow_up_months": [3, 6, 12], "infusions": infusions},
    )
    CourseStepFactory(course=course, kind="harvest", number=1, planned_date=harvest)
    first = harvest + dt.timedelta(days=culture_days + 1)
    for n in range(1, infusions + 1):
        CourseStepFactory(
            course=course,
            number=n,
            planned_date=first + dt.timedelta(days=interval_days * (n - 1)),
        )
    return course
