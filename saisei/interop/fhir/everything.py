"""Patient/$everything (R4 patient-operation-everything): one Bundle of the patient's record.

The Bundle holds the Patient, every resource whose source links to that patient (with the
Provenance of each), the Practitioner, Organization, Location and PlanDefinition resources those
reference, so no reference inside the Bundle dangles, and Saisei's CodeSystems. Each source costs one query, whatever the size of the record.
"""

from __future__ import annotations

import uuid
from typing import Any

from saisei.core.models import User
from saisei.interop.fhir.codesystems import code_systems
from saisei.interop.fhir.registry import RESOURCE_TYPES


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


def _systems(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["system"]] if isinstance(value.get("system"), str) else []
        return found + [s for v in value.values() for s in _systems(v)]
    if isinstance(value, list):
        return [s for v in value for s in _systems(v)]
    return []


def patient_everything(*, actor: User, patient_resource: dict[str, Any]) -> list[dict[str, Any]]:
    """Every resource of the patient the actor may read, then what they reference."""
    patient_id = uuid.UUID(patient_resource["id"])
    resources = [patient_resource]
    for rt in RESOURCE_TYPES.values():
        if not rt.has_patient:
            continue
        for source in rt.readable_sources(actor):
            qs = source.for_patients(source.rows(actor), "external_id", patient_id)
            resources += [source.mapper(row) for row in qs]
    present = {f"{r['resourceType']}/{r['id']}" for r in resources}
    wanted: dict[str, set[str]] = {}
    for ref in (ref for r in resources for ref in _references(r)):
        if ref in present:
            continue
        kind, _sep, key = ref.partition("/")
        wanted.setdefault(kind, set()).add(key)
    for kind, keys in sorted(wanted.items()):
        rt = RESOURCE_TYPES[kind]
        for source in rt.readable_sources(actor):
            rows = source.rows(actor).filter(source.id_filter(sorted(keys)))
            resources += [source.mapper(row) for row in rows]
    # Saisei's own code systems the Bundle uses, so every coding resolves inside it.
    systems = {system for r in resources for system in _systems(r)}
    resources += [cs for cs in code_systems(actor) if cs["url"] in systems]
    return resources
