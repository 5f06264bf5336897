"""Shared test fixtures: organisations, users per role, and API clients."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from saisei.core.tests.factories import OrganisationFactory, SiteFactory, UserFactory

# Property tests judge behaviour, not speed: a loaded CI machine must not fail them on time.
hypothesis_settings.register_profile(
    "saisei", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
hypothesis_settings.load_profile("saisei")


@pytest.fixture(autouse=True)
def _english(settings: Any) -> None:
    from django.utils import translation

    translation.activate("en")


@pytest.fixture(autouse=True)
def _anchors_outside_the_repo(settings: Any, tmp_path_factory: Any) -> None:
    """Ledger checkpoints go to a fresh directory per test, never the working tree's var/."""
    settings.SAISEI_ANCHOR_DIR = tmp_path_factory.mktemp("anchors")


@pytest.fixture
def org(db: Any) -> Any:
    return OrganisationFactory(slug="clinic-a", name="Clinic A")


@pytest.fixture
def other_org(db: Any) -> Any:
    return OrganisationFactory(slug="clinic-b", name="Clinic B")


@pytest.fixture
def clinic_site(org: Any) -> Any:
    return SiteFactory(organisation=org, name="Clinic A Tokyo", kind="medical_institution")


@pytest.fixture
def make_user(db: Any) -> Any:
    def _make(role: str | list[str] = "coordinator", organisation: Any = None, **kw: Any) -> Any:
        roles = [role] if isinstance(role, str) else role
        return UserFactory(organisation=organisation, roles=roles, **kw)

    return _make


class ApiClient:
    """A thin JSON client for /api/v1 with a Bearer token."""

    def __init__(self, user: Any) -> None:
        from saisei.core.services import token_create

        _, self.token = token_create(actor=None, user=user, label="test")
        self.client = Client()

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, headers=self._headers())

    def post(self, path: str, data: Any = None, raw: str | None = None) -> Any:
        body = raw if raw is not None else json.dumps(data or {}, default=str)
        return self.client.post(
            f"/api/v1{path}", body, content_type="application/json", headers=self._headers()
        )

    def put(self, path: str, data: Any = None) -> Any:
        return self.client.put(
            f"/api/v1{path}",
            json.dumps(data or {}, default=str),
            content_type="application/json",
            headers=self._headers(),
        )

    def patch(self, path: str, data: Any = None) -> Any:
        return self.client.patch(
            f"/api/v1{path}",
            json.dumps(data or {}, default=str),
            content_type="application/json",
            headers=self._headers(),
        )

    def delete(self, path: str) -> Any:
        return self.client.delete(f"/api/v1{path}", headers=self._headers())


@pytest.fixture
def api_for(db: Any) -> Any:
    return ApiClient


@pytest.fixture
def web_for(db: Any) -> Any:
    """A logged-in browser-less web client for a user (two-factor step marked done)."""

    def _login(user: Any) -> Client:
        c = Client()
        c.force_login(user)
        session = c.session
        session["2fa_ok"] = True
        session.save()
        return c

    return _login


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    on_pg = os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql"))
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://...)")
    for item in items:
        if "postgres_only" in item.keywords and not on_pg:
            item.add_marker(skip_pg)
