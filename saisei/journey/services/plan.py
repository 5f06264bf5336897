"""Provision-plan status as the journey needs it: which plan version is in force on a day."""

from __future__ import annotations

import datetime as dt
from typing import Any


def plan_version_in_force(*, plan: Any, day: dt.date) -> Any | None:
    """The plan version in force on `day`, or None (the regulatory selector decides: the plan
    must be accepted and in force, ASRM Art. 4(1), 5)."""
    from saisei.regulatory.selectors import plan_version_in_force as in_force

    return in_force(plan=plan, day=day)
