"""Reads of bulk exports, scoped to the actor's organisation and role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from saisei.core.errors import Forbidden
from saisei.core.models import User
from saisei.core.selectors import get_scoped
from saisei.interop import redcap
from saisei.interop.models import BulkExport
from saisei.interop.permissions import can_research_export, scope_exports


def export_list(*, actor: User) -> QuerySet[BulkExport]:
    return scope_exports(actor, BulkExport.objects.select_related("requested_by", "plan"))


def export_get(*, actor: User, external_id: Any) -> BulkExport:
    return get_scoped(export_list(actor=actor), external_id)


def redcap_dictionary(*, actor: User) -> Iterator[str]:
    """The REDCap data dictionary as CSV lines (the same for every reader allowed to export)."""
    if not can_research_export(actor):
        raise Forbidden()
    return redcap.csv_lines(redcap.dictionary_rows())


def redcap_records(*, actor: User) -> Iterator[str]:
    """The actor's organisation's research records as CSV lines, streamed from the database."""
    if not can_research_export(actor):
        raise Forbidden()
    return redcap.csv_lines(redcap.record_rows(actor))
