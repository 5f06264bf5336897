"""The CapabilityStatement: built from the registry, so it lists exactly what is served."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from saisei.interop.fhir import includes
from saisei.interop.fhir.common import FHIR_VERSION
from saisei.interop.fhir.registry import RESOURCE_TYPES
from saisei.interop.fhir.responses import FHIR_JSON

# Bulk Data Access IG v2.0.0 operation definitions, and R4 Patient/$everything.
BULK = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition"
OPERATIONS: dict[str, list[dict[str, str]]] = {
    "Patient": [
        {
            "name": "everything",
            "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
        },
        {"name": "export", "definition": f"{BULK}/patient-export"},
    ],
    "Group": [{"name": "export", "definition": f"{BULK}/group-export"}],
}


def capability_statement(*, base_url: str) -> dict[str, Any]:
    resources = []
    for rt in RESOURCE_TYPES.values():
        params = [{"name": "_id", "type": "token"}]
        if rt.static is None:
            params.append({"name": "_lastUpdated", "type": "date"})
        if rt.has_patient:
            params.append({"name": "patient", "type": "reference"})
        if rt.name == "Provenance":
            params.append({"name": "target", "type": "reference"})
        entry: dict[str, Any] = {
            "type": rt.name,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "versioning": "no-version",
            "readHistory": False,
            "searchInclude": sorted(includes.supported(rt.name)),
            "searchParam": params,
        }
        operations = OPERATIONS.get(rt.name)
        if operations:
            entry["operation"] = operations
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": timezone.now().date().isoformat(),
        "kind": "instance",
        "software": {"name": "Saisei"},
        "implementation": {"description": "Saisei FHIR R4 read API", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON, "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "cors": False,
                    "description": (
                        "Authorization: Bearer <token> (the same tokens as /api/v1/); every "
                        "read is limited to the token owner's organisation and roles."
                    ),
                },
                "resource": resources,
                "operation": [{"name": "export", "definition": f"{BULK}/export"}],
            }
        ],
    }
