"""Procedure (harvest, infusion), BiologicallyDerivedProduct (dose) and AdverseEvent.

R4 cannot point from Procedure or AdverseEvent to a BiologicallyDerivedProduct (their reference
targets predate it); R5 can (Procedure.used, AdverseEvent.suspectEntity.instance). We carry that
link with HL7's cross-version extensions for those R5 elements (R4 versions.html#extensions);
decision record 0014 explains the choice.
"""

from __future__ import annotations

from typing import Any

from saisei.interop.fhir.common import (
    fhir_id,
    instant,
    meta,
    prune,
    reference,
    uuid_identifier,
)

R5_PROCEDURE_USED = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Procedure.used"
R5_AE_SUSPECT_INSTANCE = (
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-AdverseEvent.suspectEntity.instance"
)
AE_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
AE_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
AE_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
MEDDRA = "http://terminology.hl7.org/CodeSystem/mdr"


def _text_identifier(label: str, value: str) -> dict[str, Any]:
    """An ISBT 128 data item as an identifier typed by text: HL7 publishes no system URI for it."""
    return {"type": {"text": label}, "value": value}


def dose_identifiers(dose: Any) -> list[dict[str, Any]]:
    """DIN, product code with its division, and the chain-of-identity identifier (ISBT 128 ST-001
    §2.4.1 DIN, §2.4.3 product code and divisions; COI from the course)."""
    return [
        uuid_identifier(dose.external_id),
        _text_identifier("ISBT 128 DIN", dose.din),
        _text_identifier("ISBT 128 product code", f"{dose.product_code}{dose.division}"),
        _text_identifier("Chain of identity", dose.coi),
    ]


def practitioner_reference(user: Any) -> dict[str, Any] | None:
    """The Practitioner for a staff user, when the user is a registered physician."""
    physician = getattr(user, "physician", None)
    if physician is None:
        return None
    return reference("Practitioner", physician.external_id, physician.name)


AVAILABLE_DOSE_STATUSES = frozenset({"released", "shipped", "received", "thawed"})


def biologically_derived_product(dose: Any) -> dict[str, Any]:
    """BiologicallyDerivedProduct <- processing.Dose (one bag; autologous, so source = patient)."""
    lot = dose.lot
    processing: list[dict[str, Any]] = [
        {
            "description": f"Culture expansion, lot {lot.number}",
            "timeDateTime": lot.started_on.isoformat(),
        }
    ]
    if dose.cryopreserved_at:
        processing.append(
            {"description": "Cryopreservation", "timeDateTime": instant(dose.cryopreserved_at)}
        )
    if dose.thawed_at:
        processing.append({"description": "Thawed", "timeDateTime": instant(dose.thawed_at)})
    place = ", ".join(p for p in (dose.freezer, dose.rack, dose.position) if p)
    storage_period: dict[str, Any] = {}
    if dose.cryopreserved_at:
        storage_period["start"] = instant(dose.cryopreserved_at)
    if dose.expires_at:
        # R4 has no expiry element: the storage period ends at expiry (R5 adds expirationDate).
        storage_period["end"] = instant(dose.expires_at)
    donation = lot.donation
    return prune(
        {
            "resourceType": "BiologicallyDerivedProduct",
            "id": fhir_id(dose.external_id),
            "meta": meta(dose.updated_at),
            "identifier": dose_identifiers(dose),
            "productCategory": "cells",
            "productCode": {"text": f"ISBT 128 {dose.product_code}{dose.division}"},
            "status": "available" if dose.status in AVAILABLE_DOSE_STATUSES else "unavailable",
            "quantity": 1,
            "collection": {
                "collector": reference(
                    "Practitioner", donation.physician.external_id, donation.physician.name
                )
                if donation.physician
                else None,
                "source": reference("Patient", dose.patient.external_id, dose.patient.display_name),
                "collectedDateTime": instant(donation.collected_at),
            },
            "processing": processing,
            "storage": [{"description": place, "duration": storage_period}]
            if place or storage_period
            else [],
        }
    )


def harvest_procedure(donation: Any) -> dict[str, Any]:
    """Procedure <- processing.Donation: the adipose-tissue harvest, identified by its DIN."""
    performer = []
    if donation.physician is not None:
        performer.append(
            {
                "actor": reference(
                    "Practitioner", donation.physician.external_id, donation.physician.name
                )
            }
        )
    return prune(
        {
            "resourceType": "Procedure",
            "id": fhir_id(donation.external_id),
            "meta": meta(donation.updated_at),
            "identifier": [
                uuid_identifier(donation.external_id),
                _text_identifier("ISBT 128 DIN", donation.din),
                _text_identifier("Chain of identity", donation.coi),
            ],
            "status": "completed",
            "code": {"text": "Adipose tissue harvest"},
            "subject": reference(
                "Patient", donation.patient.external_id, donation.patient.display_name
            ),
            "performedDateTime": instant(donation.collected_at),
            "performer": performer,
            "location": reference("Location", donation.site.external_id, donation.site.name),
            "bodySite": [{"text": donation.harvest_site}],
        }
    )


ADMINISTRATION_STATUS = {
    "in_progress": "in-progress",
    "completed": "completed",
    "stopped": "stopped",
}


def infusion_procedure(adm: Any) -> dict[str, Any]:
    """Procedure <- treatment.Administration: the infusion of one dose (why not
    MedicationAdministration: decision record 0014)."""
    period: dict[str, Any] = {"start": instant(adm.started_at)}
    if adm.ended_at:
        period["end"] = instant(adm.ended_at)
    performer = []
    physician = practitioner_reference(adm.physician)
    if physician is not None:
        performer.append({"actor": physician})
    return prune(
        {
            "resourceType": "Procedure",
            "id": fhir_id(adm.external_id),
            "meta": meta(adm.updated_at),
            "identifier": [uuid_identifier(adm.external_id)],
            "extension": [
                {
                    "url": R5_PROCEDURE_USED,
                    "valueReference": reference(
                        "BiologicallyDerivedProduct", adm.dose.external_id, adm.dose.din
                    ),
                }
            ],
            "status": ADMINISTRATION_STATUS[adm.status],
            "statusReason": {"text": adm.stop_reason} if adm.stop_reason else None,
            "code": {"text": f"Infusion of autologous cells ({adm.get_route_display()})"},
            "subject": reference("Patient", adm.patient.external_id, adm.patient.display_name),
            "performedPeriod": period,
            "performer": performer,
            "note": [{"text": adm.observations}] if adm.observations else [],
        }
    )


SEVERITY = {1: "mild", 2: "moderate"}
OUTCOME = {
    "recovered": "resolved",
    "recovering": "recovering",
    "not_recovered": "ongoing",
    "sequelae": "resolvedWithSequelae",
    "fatal": "fatal",
    "unknown": "unknown",
}
SERIOUS_FLAGS = (
    "death",
    "life_threatening",
    "hospitalisation",
    "disability",
    "congenital_anomaly",
    "other_medically_important",
)


def adverse_event(ae: Any) -> dict[str, Any]:
    """AdverseEvent <- safety.AdverseEvent. Seriousness follows the ICH E2A criteria the event
    records; the grade (1-5) is kept as text, mild/moderate/severe coded for grades 1, 2, 3+."""
    serious = any(getattr(ae, flag) for flag in SERIOUS_FLAGS)
    event_concept: dict[str, Any] = {"text": ae.term}
    if ae.meddra_code:
        event_concept["coding"] = [{"system": MEDDRA, "code": ae.meddra_code}]
    suspects = []
    if ae.administration is not None:
        suspect: dict[str, Any] = {
            "instance": reference("Procedure", ae.administration.external_id),
            "causality": [{"assessment": {"text": ae.get_related_administration_display()}}],
        }
        if ae.dose is not None:
            suspect["extension"] = [
                {
                    "url": R5_AE_SUSPECT_INSTANCE,
                    "valueReference": reference(
                        "BiologicallyDerivedProduct", ae.dose.external_id, ae.dose.din
                    ),
                }
            ]
            suspect["causality"].append(
                {
                    "assessment": {"text": ae.get_related_cells_display()},
                    "productRelatedness": ae.get_related_cells_display(),
                }
            )
        suspects.append(suspect)
    return prune(
        {
            "resourceType": "AdverseEvent",
            "id": fhir_id(ae.external_id),
            "meta": meta(ae.updated_at),
            "identifier": uuid_identifier(ae.external_id),
            "actuality": "actual",
            "event": event_concept,
            "subject": reference("Patient", ae.patient.external_id, ae.patient.display_name),
            "date": ae.onset_date.isoformat(),
            "detected": instant(ae.aware_at),
            "recordedDate": instant(ae.created_at),
            "seriousness": {
                "coding": [
                    {
                        "system": AE_SERIOUSNESS,
                        "code": "serious" if serious else "non-serious",
                        "display": "Serious" if serious else "Non-serious",
                    }
                ]
            },
            "severity": {
                "coding": [
                    {"system": AE_SEVERITY, "code": SEVERITY.get(ae.severity_grade, "severe")}
                ],
                "text": f"Grade {ae.severity_grade}",
            },
            "outcome": {"coding": [{"system": AE_OUTCOME, "code": OUTCOME[ae.outcome]}]},
            "suspectEntity": suspects,
        }
    )
