"""Consent (FHIR R4 Consent) <- journey.Consent: each signed consent, and its withdrawal.

ASRM Art. 14 requires written consent before treatment; a withdrawal keeps the record, so a
withdrawn consent is exported as ``inactive`` with its provision period closed at withdrawal.
"""

from __future__ import annotations

from typing import Any

from saisei.interop.fhir.common import fhir_id, instant, meta, prune, reference, uuid_identifier
from saisei.interop.fhir.mappers.administrative import organisation_reference

# R4 Consent.scope (extensible, consent-scope value set).
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
# LOINC 59284-0 "Patient Consent", listed in R4's consent-category value set.
LOINC = "http://loinc.org"
PATIENT_CONSENT_LOINC = "59284-0"


def consent(c: Any) -> dict[str, Any]:
    provision_period: dict[str, Any] = {"start": instant(c.signed_at)}
    if c.withdrawn_at is not None:
        provision_period["end"] = instant(c.withdrawn_at)
    performer = (
        {"display": c.signer_name}
        if c.given_by == "proxy"
        else reference("Patient", c.patient.external_id, c.patient.display_name)
    )
    return prune(
        {
            "resourceType": "Consent",
            "id": fhir_id(c.external_id),
            "meta": meta(c.updated_at),
            "identifier": [uuid_identifier(c.external_id)],
            "status": "inactive" if c.withdrawn_at is not None else "active",
            "scope": {
                "coding": [{"system": CONSENT_SCOPE, "code": "treatment", "display": "Treatment"}]
            },
            "category": [
                {
                    "coding": [
                        {
                            "system": LOINC,
                            "code": PATIENT_CONSENT_LOINC,
                            "display": "Patient Consent",
                        }
                    ]
                }
            ],
            "patient": reference("Patient", c.patient.external_id, c.patient.display_name),
            "dateTime": instant(c.signed_at),
            "performer": [performer],
            "organization": [organisation_reference(c.organisation)],
            "sourceAttachment": {
                "title": f"{c.document.title} v{c.document.version}",
                "language": c.document.language,
            },
            # The legal basis the consent is taken under (ASRM Art. 14), as text: no code exists.
            "policyRule": {"text": "ASRM Art. 14"},
            "provision": {"type": "permit", "period": provision_period},
        }
    )
