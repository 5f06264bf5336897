"""``_include`` (R4 search.html#include): the resources a page references, one query per source.

Each supported ``Type:param`` names the element holding the reference. After a page is mapped,
the referenced ids are collected per type and read with one query per readable source of that
type (``external_id IN (...)``), so a page with includes costs a constant number of queries,
whatever its size. Only what the reader may read is included; an unreadable target is left out.
"""

from __future__ import annotations

from typing import Any

from saisei.core.models import User
from saisei.interop.fhir.registry import RESOURCE_TYPES

# Type -> search parameter -> the element path holding the reference (R4 search parameters).
INCLUDES: dict[str, dict[str, str]] = {
    "Patient": {"organization": "managingOrganization"},
    "PractitionerRole": {"practitioner": "practitioner", "organization": "organization"},
    "Location": {"organization": "managingOrganization"},
    "Consent": {"patient": "patient"},
    "CarePlan": {"patient": "subject", "subject": "subject"},
    "Procedure": {"patient": "subject", "subject": "subject", "performer": "performer.actor"},
    "AdverseEvent": {"subject": "subject"},
    "Observation": {"patient": "subject", "subject": "subject", "performer": "performer"},
    "QuestionnaireResponse": {"patient": "subject", "subject": "subject"},
    "Provenance": {"target": "target", "agent": "agent.who", "patient": "target"},
    "Group": {"member": "member.entity"},
}


def supported(resource_type: str) -> frozenset[str]:
    return frozenset(f"{resource_type}:{param}" for param in INCLUDES.get(resource_type, {}))


def _at(value: Any, path: list[str]) -> list[str]:
    if isinstance(value, list):
        return [r for v in value for r in _at(v, path)]
    if not isinstance(value, dict):
        return []
    if not path:
        ref = value.get("reference")
        return [ref] if isinstance(ref, str) else []
    return _at(value.get(path[0]), path[1:])


def included(
    *, actor: User, resources: list[dict[str, Any]], includes: list[str]
) -> list[dict[str, Any]]:
    """The resources the page's ``includes`` reference, not already on the page."""
    present = {f"{r['resourceType']}/{r['id']}" for r in resources}
    wanted: dict[str, set[str]] = {}
    for value in includes:
        kind, _sep, param = value.partition(":")
        path = INCLUDES[kind][param].split(".")
        only_patient = kind == "Provenance" and param == "patient"
        for resource in resources:
            for ref in _at(resource, path):
                target, _sep, key = ref.partition("/")
                if ref in present or (only_patient and target != "Patient"):
                    continue
                wanted.setdefault(target, set()).add(key)
    out: list[dict[str, Any]] = []
    for target, keys in sorted(wanted.items()):
        rt = RESOURCE_TYPES.get(target)
        if rt is None:
            continue
        for source in rt.readable_sources(actor):
            rows = source.rows(actor).filter(source.id_filter(sorted(keys)))
            out += [source.mapper(row) for row in rows]
    return out
