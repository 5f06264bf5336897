"""Who looked at what: one row per read of a patient's record, document or export.

Views and endpoints that show one patient's record call ``access_log_record`` once per request
(one INSERT, no extra query: the caller already holds the objects). List pages and searches are
not logged row by row; they show names and codes, the record itself is read on its own page
(decision record 0015). Rows are never changed or deleted and are kept as long as the records.
"""

from __future__ import annotations

from typing import Any

from saisei.core import context
from saisei.core.models import AccessLogEntry, User

WEB = AccessLogEntry.Channel.WEB
API = AccessLogEntry.Channel.API
FHIR = AccessLogEntry.Channel.FHIR


def _patient_parts(patient: Any) -> tuple[str, str]:
    if patient is None:
        return "", ""
    if isinstance(patient, tuple):
        return str(patient[0])[:64], str(patient[1])[:100]
    return str(patient.external_id), str(getattr(patient, "patient_code", "") or "")[:100]


def access_log_record(
    *,
    actor: User,
    channel: str,
    subject_type: str,
    subject_id: Any,
    patient: Any = None,
    label: str = "",
) -> AccessLogEntry:
    """Record that ``actor`` read ``subject`` (of ``patient``: an object with ``external_id``
    and ``patient_code``, or an ``(id, label)`` pair); the address and browser come from the request."""
    ctx = context.current()
    patient_id, patient_label = _patient_parts(patient)
    return AccessLogEntry.objects.create(
        organisation_id=actor.organisation_id,
        actor=actor,
        actor_label=actor.username[:150],
        channel=channel,
        subject_type=subject_type[:80],
        subject_id=str(subject_id)[:64],
        label=label[:200],
        patient_id=patient_id,
        patient_label=patient_label,
        client_ip=ctx.client_ip,
        user_agent=ctx.user_agent[:200],
        request_id=ctx.request_id[:64],
    )
