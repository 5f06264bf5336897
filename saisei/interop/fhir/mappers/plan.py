"""PlanDefinition (FHIR R4) <- regulatory.ProvisionPlan: the ASRM provision plan.

Why PlanDefinition and not ResearchStudy: decision record 0014. The status is ``active`` only
while the plan is in force, the one state in which the compliance gate lets acts happen; every
other state before closure is ``draft`` and closure is ``retired`` (fails closed: a reader never
takes a suspended or pending plan for one in force).
"""

from __future__ import annotations

from typing import Any

from saisei.interop.fhir.common import fhir_id, meta, prune, uuid_identifier

PLAN_DEFINITION_TYPE = "http://terminology.hl7.org/CodeSystem/plan-definition-type"
RETIRED = frozenset({"superseded", "discontinued", "closed"})


def plan_status(state: str) -> str:
    if state == "in_force":
        return "active"
    return "retired" if state in RETIRED else "draft"


def plan_definition(plan: Any) -> dict[str, Any]:
    identifiers = [uuid_identifier(plan.external_id)]
    if plan.plan_number:
        # The plan number MHLW assigns on acceptance (計画番号); no public system URI exists.
        identifiers.append({"type": {"text": "ASRM plan number"}, "value": plan.plan_number})
    effective: dict[str, Any] = {}
    if plan.first_accepted_date:
        effective["start"] = plan.first_accepted_date.isoformat()
    end = plan.closed_date or plan.discontinued_date
    if end:
        effective["end"] = end.isoformat()
    return prune(
        {
            "resourceType": "PlanDefinition",
            "id": fhir_id(plan.external_id),
            "meta": meta(plan.updated_at),
            "identifier": identifiers,
            "title": plan.title,
            "subtitle": plan.get_status_display(),
            "type": {
                "coding": [
                    {
                        "system": PLAN_DEFINITION_TYPE,
                        "code": "clinical-protocol",
                        "display": "Clinical Protocol",
                    }
                ]
            },
            "status": plan_status(plan.status),
            "publisher": plan.institution.name,
            "jurisdiction": [{"coding": [{"system": "urn:iso:std:iso:3166", "code": "JP"}]}],
            "approvalDate": plan.first_accepted_date.isoformat()
            if plan.first_accepted_date
            else None,
            "effectivePeriod": effective,
        }
    )
