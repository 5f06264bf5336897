"""Small building blocks shared by every mapper: references, identifiers, meta, codings.

Element names and code systems follow FHIR R4 (4.0.1): http://hl7.org/fhir/R4/datatypes.html.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

FHIR_VERSION = "4.0.1"
# RFC 3986 URIs as identifiers (FHIR R4 §2.24 "identifier systems"); our UUIDs are urn:uuid.
URI_SYSTEM = "urn:ietf:rfc:3986"
V2_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
BCP47 = "urn:ietf:bcp:47"


def fhir_id(external_id: uuid.UUID | str) -> str:
    """A resource id: the record's external UUID (fits the FHIR id pattern, 36 characters)."""
    return str(external_id)


def reference(
    resource_type: str, external_id: uuid.UUID | str, display: str = ""
) -> dict[str, Any]:
    out: dict[str, Any] = {"reference": f"{resource_type}/{fhir_id(external_id)}"}
    if display:
        out["display"] = display
    return out


def instant(value: dt.datetime) -> str:
    """An R4 ``instant``: seconds and a time zone are required; we always store aware datetimes."""
    return value.isoformat()


def date(value: dt.date) -> str:
    return value.isoformat()


def meta(updated_at: dt.datetime) -> dict[str, Any]:
    return {"lastUpdated": instant(updated_at)}


def uuid_identifier(external_id: uuid.UUID | str) -> dict[str, Any]:
    return {"system": URI_SYSTEM, "value": f"urn:uuid:{external_id}"}


def typed_identifier(
    code: str, display: str, value: str, *, assigner: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An identifier without a public system, typed with HL7 v2 table 0203 (e.g. MR, MD)."""
    out: dict[str, Any] = {
        "type": {"coding": [{"system": V2_IDENTIFIER_TYPE, "code": code, "display": display}]},
        "value": value,
    }
    if assigner is not None:
        out["assigner"] = assigner
    return out


def concept(system: str, code: str, display: str = "", text: str = "") -> dict[str, Any]:
    coding: dict[str, Any] = {"system": system, "code": code}
    if display:
        coding["display"] = display
    out: dict[str, Any] = {"coding": [coding]}
    if text:
        out["text"] = text
    return out


def text_concept(text: str) -> dict[str, Any]:
    return {"text": text}


def prune(value: Any) -> Any:
    """Drop empty strings, lists and dicts: FHIR forbids empty elements (R4 json.html)."""
    if isinstance(value, dict):
        cleaned = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        cleaned_list = [prune(v) for v in value]
        return [v for v in cleaned_list if v not in (None, "", [], {})]
    return value


def saisei_system(name: str) -> str:
    """The canonical URL of one of Saisei's own code systems (decision record 0026).

    It is the address at which this server serves the CodeSystem (``/fhir/R4/CodeSystem/<name>``),
    so a receiver can resolve every code Saisei defines; the same CodeSystem is in every export.
    """
    from django.conf import settings

    return f"{settings.SAISEI_BASE_URL.rstrip('/')}/fhir/R4/CodeSystem/{name}"
