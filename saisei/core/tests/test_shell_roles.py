"""Each role's home page starts with its work for today (issue 15, item 2)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from saisei.core.models import Role
from saisei.core.shell import worklists_for


@pytest.mark.parametrize(
    ("role", "first"),
    [
        (Role.NURSE, "treatment_today"),
        (Role.PHYSICIAN, "treatment_today"),
        (Role.QA_MANAGER, "processing_release"),
    ],
)
def test_home_starts_with_the_roles_work_for_today(role: str, first: str) -> None:
    lists = worklists_for(SimpleNamespace(roles=[role]))
    assert lists[0].key == first


def test_a_role_sees_only_its_own_worklists() -> None:
    keys = {w.key for w in worklists_for(SimpleNamespace(roles=[Role.CPC_TECHNICIAN]))}
    assert "treatment_today" not in keys and "regulatory-obligations" not in keys
