"""Fuzz every API operation from the published OpenAPI schema (docs/openapi.json) with
Schemathesis: no generated request makes the server answer 500, and every error answer has the
documented shape. Signed in as a user holding every role, and anonymous (always a 401).

Schemathesis generates the cases (valid ones and, in negative mode, ones that break the schema);
the requests go through Django's test client in-process, so they see the test database. The
number of examples per operation is kept small (SAISEI_FUZZ_EXAMPLES raises it for a deeper run)
so the whole fuzz fits in CI's time.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from saisei.core.demo import load_demo

SCHEMA_FILE = django_settings.BASE_DIR.parent / "docs" / "openapi.json"
EXAMPLES = int(os.environ.get("SAISEI_FUZZ_EXAMPLES", "3"))


def _schema() -> Any:
    return schemathesis.openapi.from_dict(json.loads(SCHEMA_FILE.read_text()))


def _operations() -> list[Any]:
    return [result.ok() for result in _schema().get_all_operations()]


def _send(client: Client, case: Any, headers: dict[str, str]) -> Any:
    """Send one generated case through Django's test client (the schema's paths are absolute)."""
    kw = case.as_transport_kwargs(base_url="http://testserver")
    url = urlsplit(kw["url"])
    query = urlencode(kw.get("params") or {}, doseq=True)
    if "json" in kw:
        body: Any = json.dumps(kw["json"])
        content_type = "application/json"
    else:
        body = kw.get("data") or ""
        content_type = (kw.get("headers") or {}).get("Content-Type", "application/json")
    return client.generic(
        kw["method"],
        url.path + (f"?{query}" if query else ""),
        body,
        content_type=content_type,
        headers=headers,
    )


def _check(resp: Any, case: Any) -> None:
    where = f"{case.method} {case.formatted_path} query={case.query!r} body={case.body!r}"
    assert resp.status_code < 500, f"{where} -> {resp.status_code} {resp.content[:400]!r}"
    if resp.status_code >= 400:
        assert resp["Content-Type"].startswith("application/json"), where
        payload = json.loads(resp.content)
        assert set(payload) == {"error"}, (where, payload)
        assert {"code", "message", "fields"} <= set(payload["error"]), (where, payload)


def _fuzz_all(mode: GenerationMode, send: Any, examples: int) -> None:
    """Fuzz each operation; collect every operation's shrunk failure, then fail with all of them."""
    failures = []
    for operation in OPERATIONS:
        try:
            _fuzz(operation, mode, send, examples)
        except AssertionError as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert not failures, "\n\n".join(failures)


def _fuzz(operation: Any, mode: GenerationMode, send: Any, examples: int) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        send(case)

    run()


@pytest.fixture
def broad_client(db: Any) -> tuple[Client, dict[str, str]]:
    """The demo data, and a Bearer token of a user of the demo clinic holding every role."""
    from saisei.core.models import Organisation, Role
    from saisei.core.services import token_create
    from saisei.core.tests.factories import UserFactory

    load_demo(stdout=io.StringIO())
    org = Organisation.objects.get(slug="sakura")
    user = UserFactory(organisation=org, roles=list(Role.values), username="fuzz_all_roles")
    _, token = token_create(actor=None, user=user, label="fuzz")
    return Client(), {"Authorization": f"Bearer {token}"}


OPERATIONS = _operations()


def test_the_schema_lists_every_operation() -> None:
    assert len(OPERATIONS) > 100


def test_no_operation_answers_500_signed_in(broad_client: Any) -> None:
    """Valid and schema-breaking requests, on one load of the demo data."""
    client, headers = broad_client
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        _fuzz_all(mode, lambda case: _check(_send(client, case, headers), case), EXAMPLES)


def test_every_operation_answers_anonymous_callers_401(db: Any) -> None:
    client = Client()

    def send(case: Any) -> None:
        resp = _send(client, case, {})
        _check(resp, case)
        assert resp.status_code in (401, 413, 415), (case.method, case.formatted_path)

    _fuzz_all(GenerationMode.POSITIVE, send, 1)
