"""Observation (assessment scores, biomarker results) and QuestionnaireResponse (caregiver diary).

An assessment is one Observation (category ``survey``): the total as its value and each
sub-score as a component. Licensed instruments hold totals and sub-scores only, never item text,
so only the clinic's own caregiver diary, whose wording the clinic owns, is also served as a
QuestionnaireResponse with its answers. Codes are LOINC where the instrument or biomarker table
holds one that is not marked unconfirmed; otherwise the concept is text only, never an invented
code. Units: UCUM (R4 datatypes.html#Quantity; the annotation ``{score}`` for scale points).
"""

from __future__ import annotations

from typing import Any

from saisei.interop.fhir.common import (
    concept,
    date,
    fhir_id,
    meta,
    prune,
    reference,
    saisei_system,
)
from saisei.interop.fhir.mappers.clinical import practitioner_reference
from saisei.outcomes.instruments import INSTRUMENTS

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
SCORE_UNIT = {"unit": "score", "system": UCUM, "code": "{score}"}
# Units the biomarker table uses whose UCUM code is the unit as written (UCUM c/s column).
UCUM_UNITS = frozenset({"pg/mL", "ng/mL", "mg/dL", "g/dL", "mmol/L", "umol/L", "%", "U/L"})
DIARY = "DIARY"


def _patient(row: Any) -> dict[str, Any]:
    return reference("Patient", row.patient.external_id, row.patient.patient_code)


def _instrument_code(code: str) -> dict[str, Any]:
    instrument = INSTRUMENTS.get(code)
    if instrument is None:
        return {"text": code}
    name = str(instrument.name)
    if instrument.loinc:
        return concept(LOINC, instrument.loinc, text=name)
    return {"text": name}


def _number(value: Any) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if float(value).is_integer() else float(value)


def assessment_observation(a: Any) -> dict[str, Any]:
    """Observation <- outcomes.Assessment: total as value, sub-scores as components."""
    components = []
    for code, value in sorted((a.subscores or {}).items()):
        number = _number(value)
        if number is None:
            continue
        instrument = INSTRUMENTS.get(a.instrument)
        field = instrument.get_field(code) if instrument is not None else None
        label = str(field.label) if field is not None else code
        components.append(
            {"code": {"text": label}, "valueQuantity": {"value": number, **SCORE_UNIT}}
        )
    total = _number(a.total)
    performer = practitioner_reference(a.rater) if a.rater_id else None
    return prune(
        {
            "resourceType": "Observation",
            "id": fhir_id(a.external_id),
            "meta": meta(a.updated_at),
            "status": "final",
            "category": [concept(OBSERVATION_CATEGORY, "survey", "Survey")],
            "code": _instrument_code(a.instrument),
            "subject": _patient(a),
            "effectiveDateTime": date(a.assessed_on),
            "performer": [performer] if performer else [],
            "valueQuantity": {"value": total, **SCORE_UNIT} if total is not None else None,
            "dataAbsentReason": {"text": "No total recorded"} if total is None else None,
            "note": [{"text": a.note}] if a.note else [],
            "component": components,
        }
    )


def biomarker_observation(r: Any) -> dict[str, Any]:
    """Observation <- outcomes.BiomarkerResult (category laboratory), with its reference range."""
    definition = r.definition
    if definition.loinc and not definition.loinc_uncertain:
        code = concept(LOINC, definition.loinc, text=definition.name)
    else:
        code = {"text": definition.name}
    quantity: dict[str, Any] = {"value": _number(r.value), "unit": r.unit}
    if r.unit in UCUM_UNITS:
        quantity.update(system=UCUM, code=r.unit)
    reference_range = {}
    if definition.reference_low is not None:
        reference_range["low"] = {"value": definition.reference_low, "unit": definition.unit}
    if definition.reference_high is not None:
        reference_range["high"] = {"value": definition.reference_high, "unit": definition.unit}
    if reference_range and definition.reference_note:
        reference_range["text"] = definition.reference_note
    method = ", ".join(p for p in (r.lab, r.assay) if p)
    return prune(
        {
            "resourceType": "Observation",
            "id": fhir_id(r.external_id),
            "meta": meta(r.updated_at),
            "status": "final",
            "category": [concept(OBSERVATION_CATEGORY, "laboratory", "Laboratory")],
            "code": code,
            "subject": _patient(r),
            "effectiveDateTime": date(r.collected_on),
            "valueQuantity": quantity,
            "method": {"text": method} if method else None,
            "note": [{"text": r.note}] if r.note else [],
            "referenceRange": [reference_range] if reference_range else [],
        }
    )


def diary_response(a: Any) -> dict[str, Any]:
    """QuestionnaireResponse <- the caregiver diary (an Assessment of the clinic's own DIARY)."""
    instrument = INSTRUMENTS[DIARY]
    items = []
    for field in instrument.fields:
        value = _number((a.values or {}).get(field.code))
        if value is None:
            continue
        answer = {"valueInteger": value} if isinstance(value, int) else {"valueDecimal": value}
        items.append({"linkId": field.code, "text": str(field.label), "answer": [answer]})
    author = practitioner_reference(a.rater) if a.rater_id else None
    return prune(
        {
            "resourceType": "QuestionnaireResponse",
            "id": fhir_id(a.external_id),
            "meta": meta(a.updated_at),
            "status": "completed",
            "subject": _patient(a),
            "authored": date(a.assessed_on),
            "author": author,
            "source": _patient(a) if a.source == "portal" else None,
            "item": items,
        }
    )


def practitioner_role(ph: Any) -> dict[str, Any]:
    """PractitionerRole <- regulatory.Physician: the physician's role in their organisation."""
    return prune(
        {
            "resourceType": "PractitionerRole",
            "id": fhir_id(ph.external_id),
            "meta": meta(ph.updated_at),
            "active": ph.user.is_active,
            "practitioner": reference("Practitioner", ph.external_id, ph.name),
            "organization": reference(
                "Organization", ph.organisation.external_id, ph.organisation.name
            ),
            # Saisei's own role code (CodeSystem/role): the role grant the physician works under.
            "code": [concept(saisei_system("role"), "physician", "Physician")],
        }
    )
