"""What processing tells the compliance gate: the donation or dose an act is about."""

from __future__ import annotations

from saisei.core.registry import GateFact
from saisei.processing.selectors import donation_for_gate, dose_for_gate

GATE_FACTS = [GateFact("donation", donation_for_gate), GateFact("dose", dose_for_gate)]
