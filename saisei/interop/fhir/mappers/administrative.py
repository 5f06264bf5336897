"""Patient, Practitioner, Organization and Location (FHIR R4 administration module).

Each function is pure: it reads only the instance and the relations its selector loaded.
"""

from __future__ import annotations

from typing import Any

from saisei.interop.fhir.common import (
    BCP47,
    fhir_id,
    meta,
    prune,
    reference,
    typed_identifier,
    uuid_identifier,
)

# Patient.gender is bound (required) to AdministrativeGender; Saisei's Sex choices use its codes.
GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}


def organisation_reference(organisation: Any) -> dict[str, Any]:
    return reference("Organization", organisation.external_id, organisation.name)


def patient(p: Any) -> dict[str, Any]:
    """Patient <- journey.Patient. The patient code is the clinic's medical record number (MR)."""
    names: list[dict[str, Any]] = [
        {"use": "official", "family": p.family_name, "given": [p.given_name]}
    ]
    if p.name_native:
        names.append({"use": "usual", "text": p.name_native})
    telecom = []
    if p.email:
        telecom.append({"system": "email", "value": p.email})
    if p.phone:
        telecom.append({"system": "phone", "value": p.phone})
    return prune(
        {
            "resourceType": "Patient",
            "id": fhir_id(p.external_id),
            "meta": meta(p.updated_at),
            "identifier": [
                uuid_identifier(p.external_id),
                typed_identifier(
                    "MR",
                    "Medical record number",
                    p.patient_code,
                    assigner=organisation_reference(p.organisation),
                ),
            ],
            "active": True,
            "name": names,
            "telecom": telecom,
            "gender": GENDER[p.sex],
            "birthDate": p.date_of_birth.isoformat(),
            "address": [{"text": p.address, "country": p.country}]
            if p.address or p.country
            else [],
            "communication": [
                {"language": {"coding": [{"system": BCP47, "code": p.language}]}, "preferred": True}
            ],
            "managingOrganization": organisation_reference(p.organisation),
        }
    )


def practitioner(ph: Any) -> dict[str, Any]:
    """Practitioner <- regulatory.Physician; the licence number is typed MD (medical licence)."""
    names: list[dict[str, Any]] = [{"use": "official", "text": ph.name}]
    if ph.name_ja:
        names.append({"use": "usual", "text": ph.name_ja})
    return prune(
        {
            "resourceType": "Practitioner",
            "id": fhir_id(ph.external_id),
            "meta": meta(ph.updated_at),
            "identifier": [
                uuid_identifier(ph.external_id),
                typed_identifier("MD", "Medical License number", ph.licence_number),
            ],
            "active": ph.user.is_active,
            "name": names,
        }
    )


def organization(org: Any) -> dict[str, Any]:
    """Organization <- core.Organisation."""
    return prune(
        {
            "resourceType": "Organization",
            "id": fhir_id(org.external_id),
            "meta": meta(org.updated_at),
            "identifier": [uuid_identifier(org.external_id)],
            "active": True,
            "name": org.name,
            "alias": [org.name_ja],
        }
    )


def location(site: Any) -> dict[str, Any]:
    """Location <- core.Site (a clinic, a cell processing facility or an office)."""
    return prune(
        {
            "resourceType": "Location",
            "id": fhir_id(site.external_id),
            "meta": meta(site.updated_at),
            "identifier": [uuid_identifier(site.external_id)],
            "status": "active",
            "name": site.name,
            "alias": [site.name_ja],
            "description": site.get_kind_display(),
            "mode": "instance",
            "address": {"text": site.address},
            "managingOrganization": organisation_reference(site.organisation),
        }
    )
