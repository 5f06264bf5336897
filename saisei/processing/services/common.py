"""Helpers shared by the processing services: numbering, time, permission checks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saisei.core.errors import Forbidden, ValidationFailed
from saisei.core.models import Organisation, Role, User
from saisei.processing.models import NumberSequence


def require(allowed: bool) -> None:
    if not allowed:
        raise Forbidden()


def require_same_org(actor: User, obj: Any) -> None:
    """Objects of another organisation look like unknown ones to the caller (404 upstream)."""
    if getattr(obj, "organisation_id", None) != actor.organisation_id:
        raise Forbidden()


def next_number(*, key: str, year: int) -> int:
    """Take the next number for a key and year under a row lock (caller holds a transaction)."""
    with transaction.atomic():
        NumberSequence.objects.get_or_create(key=key, year=year)
        seq = NumberSequence.objects.select_for_update().get(key=key, year=year)
        seq.last += 1
        seq.save(update_fields=["last"])
        return seq.last


def aware(value: dt.datetime | None, *, field: str) -> dt.datetime:
    """Default to now; refuse naive datetimes and times in the future (records describe the past)."""
    if value is None:
        return timezone.now()
    if timezone.is_naive(value):
        raise ValidationFailed(
            "naive_datetime",
            _("Give the time with its time zone."),
            {field: [_("Time zone missing.")]},
        )
    if value > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationFailed(
            "time_in_future",
            _("The time cannot be in the future."),
            {field: [_("The time cannot be in the future.")]},
        )
    return value


def staff(*, organisation: Organisation, roles: tuple[str, ...]) -> list[User]:
    return list(
        User.objects.filter(
            organisation=organisation, role_grants__role__in=roles, is_active=True
        ).distinct()
    )


QA = (Role.QA_MANAGER,)
