"""Reads of bulk exports, scoped to the actor's organisation and role."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from saisei.core.models import User
from saisei.core.selectors import get_scoped
from saisei.interop.models import BulkExport
from saisei.interop.permissions import scope_exports


def export_list(*, actor: User) -> QuerySet[BulkExport]:
    return scope_exports(actor, BulkExport.objects.select_related("requested_by", "plan"))


def export_get(*, actor: User, external_id: Any) -> BulkExport:
    return get_scoped(export_list(actor=actor), external_id)
