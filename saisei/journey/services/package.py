"""Treatment packages: what a provision plan offers, checked against the plan's limits."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from saisei.core.audit import audit_record
from saisei.core.models import User

from .. import permissions as perms
from ..models import (
    TreatmentPackage,
)
from ..prescreen import Criteria
from ._common import ValidationFailed, require


def package_create(
    *,
    actor: User,
    plan: Any,
    code: str,
    name: str,
    infusions: int,
    interval_days: int,
    culture_days: int,
    dose_cells: int,
    route: str = "iv",
    follow_up_months: list[int] | None = None,
    prescreen_criteria: dict[str, Any] | None = None,
) -> TreatmentPackage:
    """Define the treatment package a plan offers; doses and routes must be within the plan."""
    require(perms.can_manage_prices, actor, plan)
    version = plan.versions.order_by("-number").first()
    if version is not None:
        if version.routes and route not in version.routes:
            raise ValidationFailed(
                "route_not_in_plan",
                _("The plan does not allow the route %(route)s.") % {"route": route},
                {"route": [_("Not in the plan.")]},
            )
        lo, hi = version.dose_min_cells, version.dose_max_cells
        if (lo and dose_cells < lo) or (hi and dose_cells > hi):
            raise ValidationFailed(
                "dose_not_in_plan",
                _("The dose is outside the range the plan allows."),
                {"dose_cells": [_("Outside the plan's range.")]},
            )
        if version.max_administrations and infusions > version.max_administrations:
            raise ValidationFailed(
                "too_many_infusions",
                _("The plan allows at most %(n)s administrations.")
                % {"n": version.max_administrations},
                {"infusions": [_("Too many.")]},
            )
    criteria = Criteria.from_dict(prescreen_criteria or {}).to_dict()
    with transaction.atomic():
        pkg = TreatmentPackage.objects.create(
            organisation=plan.organisation,
            plan=plan,
            code=code,
            name=name,
            infusions=infusions,
            interval_days=interval_days,
            culture_days=culture_days,
            dose_cells=dose_cells,
            route=route,
            follow_up_months=list(follow_up_months or [3, 6, 12]),
            prescreen_criteria=criteria,
        )
        audit_record(
            actor=actor,
            organisation=plan.organisation,
            action="treatment_package.create",
            subject=pkg,
            changes={"code": code, "infusions": infusions, "interval_days": interval_days},
        )
    return pkg
