"""Shared by the processing API modules: the signed-in user, scoped look-ups, shared schemas."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import Field

from saisei.core.errors import Forbidden
from saisei.core.permissions import scope_to_org, staff_user
from saisei.core.selectors import get_scoped
from saisei.processing import permissions

_user = staff_user  # the signed-in staff user (login is required)

# A scan is at most a few compound Data Matrix messages; anything longer is not a scan.
MAX_SCAN_LENGTH = 2000


class ReasonIn(Schema):
    reason: str = Field(..., min_length=1, max_length=1000)


def _patient(actor: Any, external_id: Any) -> Any:
    from saisei.journey.selectors import patients_of_organisation

    return get_scoped(patients_of_organisation(actor=actor), external_id)


def _site(actor: Any, external_id: Any) -> Any:
    from saisei.core.models import Site

    return get_scoped(scope_to_org(actor, Site.objects.all()), external_id)


def _plan(actor: Any, external_id: Any) -> Any:
    if not external_id:
        return None
    from saisei.regulatory.selectors import plans_of_organisation

    return get_scoped(plans_of_organisation(actor=actor), external_id)


def _physician(actor: Any, external_id: Any) -> Any:
    if not external_id:
        return None
    from saisei.regulatory.selectors import physicians_of_organisation

    return get_scoped(physicians_of_organisation(actor=actor), external_id)


def _facility(actor: Any, external_id: Any) -> Any:
    if not external_id:
        return None
    from saisei.regulatory.selectors import facilities_of_organisation

    return get_scoped(facilities_of_organisation(actor=actor), external_id)


def _course(actor: Any, external_id: Any) -> Any:
    if not external_id:
        return None
    from saisei.journey.selectors import courses_of_organisation

    return get_scoped(
        courses_of_organisation(actor=actor).filter(voided_at__isnull=True), external_id
    )


def _require_view(actor: Any) -> None:
    if not permissions.can_view_processing(actor):
        raise Forbidden()
