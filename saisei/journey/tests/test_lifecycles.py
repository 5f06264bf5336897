"""The journey's lifecycles: the coordinator's inquiry moves are exactly the queue's old rules,
and the automatic moves follow only from their source states."""

from __future__ import annotations

from typing import Any

import pytest

from saisei.core.errors import Conflict
from saisei.journey.lifecycles import INQUIRY, inquiry_coordinator_targets
from saisei.journey.models import Inquiry

pytestmark = pytest.mark.django_db

# The coordinator queue's moves as the service allowed them before the engine (issue 11).
QUEUE = {
    "new": {"in_review", "declined", "closed"},
    "in_review": {"info_requested", "prescreening", "declined", "closed"},
    "info_requested": {"in_review", "closed"},
    "prescreening": {"quoted", "enrolled", "declined", "closed"},
    "quoted": {"enrolled", "declined", "closed", "prescreening"},
    "enrolled": set(),
    "declined": {"in_review"},
    "closed": {"in_review"},
}


def test_the_coordinator_moves_are_the_queues_rules() -> None:
    assert {s: set(inquiry_coordinator_targets(s)) for s in Inquiry.Status.values} == QUEUE


def test_registering_the_patient_is_not_a_coordinator_move(org: Any, make_user: Any) -> None:
    from saisei.journey import services
    from saisei.journey.tests.test_services import submit

    inquiry = submit(org)
    coordinator = make_user("coordinator", org)
    with pytest.raises(Conflict) as exc:
        services.inquiry_status_change(actor=coordinator, inquiry=inquiry, status="prescreening")
    assert exc.value.code == "invalid_transition"
    assert INQUIRY.get("register_patient") is not None
    assert "new" in INQUIRY.get("register_patient").sources  # type: ignore[union-attr]
