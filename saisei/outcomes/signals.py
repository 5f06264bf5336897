"""Keep outcome visits in step with the treatment course: when journey moves or cancels a step,
the planned visits follow after the step's transaction commits."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def course_step_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.kind not in ("harvest", "infusion"):
        return
    course_id = instance.course_id

    def replan() -> None:
        from saisei.outcomes.models import AssessmentSchedule
        from saisei.outcomes.services import schedule_replan

        schedule = AssessmentSchedule.objects.filter(
            course_id=course_id, voided_at__isnull=True
        ).first()
        if schedule is None or schedule.follow_up_ended_on is not None:
            return
        try:
            schedule_replan(actor=None, schedule=schedule)
        except (
            Exception
        ):  # a visit plan must never block a clinical step; staff can re-plan by hand
            logger.exception("Re-planning outcome visits for course %s failed", course_id)

    transaction.on_commit(replan)
