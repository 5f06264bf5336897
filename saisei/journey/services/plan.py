"""Provision-plan status as the journey needs it: which plan version is in force on a day."""

from __future__ import annotations

import datetime as dt
from typing import Any


def plan_version_in_force(*, plan: Any, day: dt.date) -> Any | None:
    """The plan version in force on `day`, or None: the plan must be accepted and in force
    (ASRM Art. 4(1), 5; a Class I plan also waits 90 days, which the regulatory layer sets
    through `in_force_from`)."""
    from saisei.regulatory.models import PlanState

    if plan.status != PlanState.IN_FORCE:
        return None
    for v in plan.versions.filter(voided_at__isnull=True).order_by("-number"):
        if (
            v.state == PlanState.IN_FORCE
            and v.in_force_from is not None
            and v.in_force_from <= day
            and (v.in_force_until is None or day <= v.in_force_until)
        ):
            return v
    return None
