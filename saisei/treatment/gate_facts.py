"""What treatment tells the compliance gate: administrations already given under a plan."""

from __future__ import annotations

from saisei.core.registry import GateFact
from saisei.treatment.selectors import administrations_given

GATE_FACTS = [GateFact("administrations_given", administrations_given)]
