"""CodeSystem resources for the codes Saisei defines itself (issue 12 item 3; decision 0026).

Standard systems (LOINC, UCUM, HL7 terminology) are used wherever one exists. Two kinds of code
have no standard home and are Saisei's own: the staff roles (``core.models.Role``, used in
PractitionerRole.code) and the actions of the audit ledger (Provenance.activity). Each is served
as a CodeSystem at ``/fhir/R4/CodeSystem/<id>`` (its canonical URL, ``common.saisei_system``)
and written into every bulk export, so every coding with a Saisei system resolves.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation

from saisei.core import selectors as core_selectors
from saisei.core.models import Role, User
from saisei.core.permissions import can_view_audit, is_staff_user
from saisei.interop.fhir.common import prune, saisei_system

ROLE = "role"
LEDGER_ACTION = "ledger-action"


def _code_system(
    cs_id: str, *, name: str, title: str, description: str, concepts: list[dict[str, Any]]
) -> dict[str, Any]:
    return prune(
        {
            "resourceType": "CodeSystem",
            "id": cs_id,
            "url": saisei_system(cs_id),
            "name": name,
            "title": title,
            "status": "active",
            "experimental": False,
            "publisher": "Saisei",
            "description": description,
            "caseSensitive": True,
            "content": "complete",
            "count": len(concepts),
            "concept": concepts,
        }
    )


def role_code_system() -> dict[str, Any]:
    with translation.override("en"):
        concepts = [{"code": value, "display": str(label)} for value, label in Role.choices]
    return _code_system(
        ROLE,
        name="SaiseiRole",
        title="Saisei staff roles",
        description="The roles a Saisei staff account can hold (core.models.Role).",
        concepts=concepts,
    )


def ledger_action_code_system(actor: User) -> dict[str, Any]:
    """Every action recorded in the actor's organisation's audit ledger (one query)."""
    actions = sorted(
        core_selectors.audit_entry_list(actor=actor)
        .order_by()
        .values_list("action", flat=True)
        .distinct()
    )
    return _code_system(
        LEDGER_ACTION,
        name="SaiseiLedgerAction",
        title="Saisei audit ledger actions",
        description=(
            "The actions recorded in this organisation's audit ledger, as named by the service "
            "that recorded them (Provenance.activity)."
        ),
        concepts=[{"code": action} for action in actions],
    )


def code_systems(actor: User) -> list[dict[str, Any]]:
    """The CodeSystems the actor may read: roles for any staff, ledger actions for auditors."""
    out: list[dict[str, Any]] = []
    if is_staff_user(actor):
        out.append(role_code_system())
    if can_view_audit(actor):
        out.append(ledger_action_code_system(actor))
    return out
