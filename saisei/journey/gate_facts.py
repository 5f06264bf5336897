"""What the journey tells the compliance gate: consent, the coded diagnosis, the patient."""

from __future__ import annotations

from saisei.core.registry import GateFact
from saisei.journey.selectors import (
    consent_status_for_gate,
    patient_for_gate,
    patient_indication_for_gate,
)

GATE_FACTS = [
    GateFact("consent_status", consent_status_for_gate),
    GateFact("patient_indication", patient_indication_for_gate),
    GateFact("patient", patient_for_gate),
]
