"""Fuzz every API operation with generated input: no input makes the server answer 500,
and every error has the documented shape."""

from __future__ import annotations

import io
import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saisei.core.demo import load_demo

PARAM = re.compile(r"\{([^}]+)\}")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=12,
)


def _operations():
    from saisei.api import api

    schema = api.get_openapi_schema()
    for path, ops in sorted(schema["paths"].items()):
        for method, op in ops.items():
            props = {}
            body = (
                op.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
            )
            ref = body.get("$ref", "")
            if ref:
                comp = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
                props = comp.get("properties", {})
            yield path, method, sorted(props)


OPERATIONS = list(_operations())


def _fuzz_operation(client, path, method, fields):
    field_values = (
        st.fixed_dictionaries({}, optional=dict.fromkeys(fields, json_values))
        if fields
        else st.just({})
    )
    body_strategy = st.one_of(
        field_values, json_values, st.text(max_size=40).map(lambda s: ("RAW", s))
    )

    @settings(
        max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(
        param=st.text(max_size=20) | st.uuids().map(str),
        body=body_strategy,
        query=st.dictionaries(
            st.sampled_from(["limit", "offset", "status", "q", "days"]),
            st.text(max_size=8),
            max_size=3,
        ),
    )
    def run(param, body, query):
        value = param.replace("/", "").replace("?", "").replace("#", "") or "x"
        url = PARAM.sub(lambda _m: value, path).removeprefix("/api/v1")
        if method == "get":
            resp = client.get(url, **query)
        elif method == "delete":
            resp = client.delete(url)
        elif isinstance(body, tuple):
            resp = (
                client.post(url, raw=body[1])
                if method == "post"
                else getattr(client, method)(url, body[1])
            )
        else:
            resp = getattr(client, method)(url, body)
        assert resp.status_code < 500, (method, url, body, resp.content[:500])
        if resp.status_code >= 400 and resp.get("Content-Type", "").startswith("application/json"):
            payload = json.loads(resp.content)
            assert set(payload) == {"error"} and {"code", "message", "fields"} <= set(
                payload["error"]
            ), payload

    run()


def test_no_operation_answers_500(db):
    """One test over every operation, on the demo data, so the data is loaded once per run."""
    from saisei.conftest import ApiClient
    from saisei.core.models import User

    load_demo(stdout=io.StringIO())
    client = ApiClient(User.objects.get(username="org_admin"))
    assert len(OPERATIONS) > 20
    for path, method, fields in OPERATIONS:
        _fuzz_operation(client, path, method, fields)
