"""Walk every API endpoint and web page that takes an id: another organisation's objects are 404.

The walk is generic (it reads the OpenAPI schema and the URL resolver), so endpoints added later
are covered without touching this test.
"""

from __future__ import annotations

import io
import re
import uuid

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from saisei.core.demo import load_demo
from saisei.core.models import Role

PARAM = re.compile(r"\{([^}]+)\}")


def _foreign_ids(org) -> list[tuple[str, uuid.UUID]]:
    """One external id per model that belongs to the demo organisation."""
    out = []
    for model in apps.get_models():
        if not model.__module__.startswith("saisei.") or model._meta.label.startswith(
            "core.Historical"
        ):
            continue
        names = {f.name for f in model._meta.get_fields()}
        if "external_id" not in names or "history_id" in names:
            continue
        obj = (
            model._default_manager.filter(organisation=org).first()
            if "organisation" in names
            else None
        )
        if obj is None and model._meta.label == "core.Organisation":
            obj = org
        if obj is not None:
            out.append((model._meta.label, obj.external_id))
    return out


@pytest.fixture
def demo_world(db, make_user):
    ctx = load_demo(stdout=io.StringIO())
    outsider_org = type(ctx.org).objects.create(
        name="Elsewhere", slug="elsewhere", kind="clinic_group"
    )
    outsider = make_user(list(Role.values), outsider_org)
    return ctx, outsider


def _api_routes():
    from saisei.api import api

    schema = api.get_openapi_schema()
    for path, ops in schema["paths"].items():
        if PARAM.search(path):
            for method in ops:
                yield path, method


def test_every_api_endpoint_with_an_id_hides_other_organisations(demo_world, api_for):
    ctx, outsider = demo_world
    client = api_for(outsider)
    ids = _foreign_ids(ctx.org)
    assert len(ids) >= 2
    failures = []
    for path, method in _api_routes():
        for label, ext_id in ids:
            url = PARAM.sub(str(ext_id), path).removeprefix("/api/v1")
            resp = (
                getattr(client, method)(url)
                if method in ("get", "delete")
                else getattr(client, method)(url, {})
            )
            if resp.status_code not in (404, 422):
                failures.append(f"{method.upper()} {url} ({label}) -> {resp.status_code}")
            elif resp.status_code == 422 and method == "get":
                failures.append(f"GET {url} ({label}) -> 422")
    assert not failures, "\n".join(failures[:50])


def _web_patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            if str(p.pattern).startswith(("api/", "admin/")):
                continue
            yield from _web_patterns(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            route = prefix + str(p.pattern)
            if "<" in route:
                yield route


def test_every_web_page_with_an_id_hides_other_organisations(demo_world, web_for):
    ctx, outsider = demo_world
    client: Client = web_for(outsider)
    ids = _foreign_ids(ctx.org)
    failures = []
    for route in _web_patterns():
        if route.startswith(("i18n", "static", "^static")) or "token" in route:
            continue

        def url_for(value, route=route):
            return "/" + re.sub(r"<(?:[a-z]+:)?[a-z_]+>", str(value), route).lstrip("^").rstrip("$")

        # Portal pages answer a staff session the same way whatever the id (no portal session):
        # that reveals nothing, so their answer must merely equal the one for an unknown id.
        unknown_status = client.get(url_for(uuid.uuid4())).status_code
        portal = route.startswith(("journey/portal/", "network/portal/"))
        allowed = {404, 405} | ({unknown_status} if portal else set())
        for label, ext_id in ids:
            url = url_for(ext_id)
            resp = client.get(url)
            if resp.status_code not in allowed:
                failures.append(f"GET {url} ({label}) -> {resp.status_code}")
    assert not failures, "\n".join(failures[:50])
