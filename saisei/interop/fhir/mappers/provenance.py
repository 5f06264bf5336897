"""Provenance (FHIR R4) <- core.AuditEntry, and Group (FHIR R4) <- regulatory.ProvisionPlan.

Provenance: one resource per audit-ledger entry about a served resource: the target, when it was
recorded, who recorded it (the Practitioner when the user is a registered physician, otherwise
the ledger's account label) and the activity (the ledger action, Saisei's own code system).
The ledger is append-only and hash-chained, so a Provenance is never updated after it is made.

Group: a provision plan as the set of patients with a treatment course under it (the same set as
``Group/{id}/$export``).
"""

from __future__ import annotations

from typing import Any

from saisei.interop.fhir.common import (
    concept,
    fhir_id,
    instant,
    meta,
    prune,
    reference,
    saisei_system,
    uuid_identifier,
)
from saisei.interop.fhir.mappers.clinical import practitioner_reference

# R4 Provenance.agent.type (extensible): provenance-participant-type.
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"


def provenance_id(entry: Any) -> str:
    """The organisation's UUID and the entry's sequence number in its ledger (unique, stable)."""
    return f"{entry.organisation.external_id}.{entry.seq}"


def provenance(entry: Any, *, target_type: str) -> dict[str, Any]:
    who = practitioner_reference(entry.actor) if entry.actor_id else None
    return prune(
        {
            "resourceType": "Provenance",
            "id": provenance_id(entry),
            "meta": meta(entry.at),
            "target": [reference(target_type, entry.subject_id)],
            "recorded": instant(entry.at),
            "reason": [{"text": entry.reason}] if entry.reason else [],
            "activity": concept(saisei_system("ledger-action"), entry.action),
            "agent": [
                {
                    "type": concept(PARTICIPANT_TYPE, "author", "Author"),
                    "who": who or {"display": entry.actor_label},
                }
            ],
        }
    )


def group(plan: Any) -> dict[str, Any]:
    patients = {c.patient.external_id: c.patient for c in plan.courses.all()}
    members = [
        {"entity": reference("Patient", key, patients[key].display_name)}
        for key in sorted(patients, key=str)
    ]
    return prune(
        {
            "resourceType": "Group",
            "id": fhir_id(plan.external_id),
            "meta": meta(plan.updated_at),
            "identifier": [uuid_identifier(plan.external_id)],
            "active": plan.status == "in_force",
            "type": "person",
            "actual": True,
            "name": plan.title,
            "quantity": len(members),
            "member": members,
        }
    )
