from __future__ import annotations

from typing import Any

import pytest

from saisei.processing.tests.factories import make_patient


@pytest.fixture
def tech(org: Any, make_user: Any) -> Any:
    return make_user("cpc_technician", org)


@pytest.fixture
def qa(org: Any, make_user: Any) -> Any:
    return make_user("qa_manager", org)


@pytest.fixture
def physician(org: Any, make_user: Any) -> Any:
    return make_user("physician", org)


@pytest.fixture
def nurse(org: Any, make_user: Any) -> Any:
    return make_user("nurse", org)


@pytest.fixture
def patient(org: Any) -> Any:
    return make_patient(org)
