"""Cursor pages (issue 13): following `next` gives every row of every API list exactly once, in
the list's order, with a constant number of queries; the count stops at COUNT_CAP; a cursor that
this list did not give is refused with a clear 422, never a 500 or another list's rows."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from saisei.core import api_support, keyset
from saisei.core.demo import load_demo
from saisei.core.models import Role, User
from saisei.journey.models import Patient
from saisei.journey.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _page_paths() -> list[str]:
    """Every GET of the API that answers a Page, read from the API's own schema."""
    from saisei.api import api

    paths = []
    for path, ops in api.get_openapi_schema()["paths"].items():
        get = ops.get("get")
        if not get:
            continue
        ok = get["responses"].get(200) or get["responses"].get("200") or {}
        ref = ok.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
        if ref.split("/")[-1].startswith("Page_"):
            paths.append(path.removeprefix("/api/v1"))
    return paths


@pytest.fixture
def everyone(db: Any, api_for: Any) -> Any:
    world = load_demo(stdout=io.StringIO())
    user = User.objects.create_user(
        "pages-everyone", password="pages-only-password-2026", organisation=world.org
    )
    for role in Role:
        user.role_grants.create(role=role)
    return world, api_for(user)


def _rows(body: dict[str, Any]) -> list[str]:
    return [json.dumps(item, sort_keys=True) for item in body["items"]]


def test_every_list_walked_by_cursor_gives_the_offset_pages_rows(everyone: Any) -> None:
    world, client = everyone
    patient = Patient.objects.filter(organisation=world.org).order_by("pk").first()
    required = {"/outcomes/biomarkers": {"patient": str(patient.external_id)}}
    paths = _page_paths()
    assert len(paths) >= 30
    walked = 0
    for path in paths:
        params = required.get(path, {})
        first = client.get(path, limit=1, **params)
        assert first.status_code == 200, (path, first.content)
        body = first.json()
        assert body["count_exact"] is True, path
        by_offset = _rows(body)
        for offset in range(1, body["count"]):
            by_offset += _rows(client.get(path, limit=1, offset=offset, **params).json())
        by_cursor, queries = _rows(body), set()
        while body["next"]:
            with CaptureQueriesContext(connection) as ctx:
                resp = client.get(path, limit=1, after=body["next"], **params)
            assert resp.status_code == 200, (path, resp.content)
            body = resp.json()
            by_cursor += _rows(body)
            if body["next"]:  # a last page may stop a query short (no cursor to make)
                queries.add(len(ctx.captured_queries))
        assert by_cursor == by_offset, path
        assert len(by_cursor) == first.json()["count"], path
        assert len(queries) <= 1, (path, queries)
        walked += len(by_cursor) > 1
    assert walked >= 20, walked  # most lists hold more than one row in the demo


@pytest.fixture
def patients(org: Any) -> list[Patient]:
    """Ties and NULLs in a nullable decimal field, made in an order unlike any sorted one."""
    weights = [Decimal("70.0"), None, Decimal("55.5"), None, Decimal("70.0"), Decimal("80.2")]
    weights += [Decimal("55.5"), None, Decimal("70.0"), Decimal("61.0"), None]
    return [PatientFactory(organisation=org, weight_kg=w) for w in weights]


@pytest.mark.parametrize("descending", [False, True])
def test_cursor_order_with_nulls_and_ties_is_the_same_on_every_database(
    patients: list[Patient], descending: bool
) -> None:
    qs = Patient.objects.filter(organisation=patients[0].organisation)
    qs = qs.order_by("-weight_kg" if descending else "weight_kg")
    present = sorted((p for p in patients if p.weight_kg is not None), key=lambda p: p.pk)
    present.sort(key=lambda p: p.weight_kg, reverse=descending)
    absent = sorted((p for p in patients if p.weight_kg is None), key=lambda p: p.pk)
    expected = [p.pk for p in (absent + present if descending else present + absent)]
    for size in (1, 2, 3, 5):
        seen, cursor = [], ""
        while True:
            page = api_support.paginate(qs, limit=size, after=cursor)
            seen += [p.pk for p in page["items"]]
            if not page["next"]:
                break
            cursor = page["next"]
        assert seen == expected, size
        offsets = [
            p.pk
            for start in range(0, len(patients), size)
            for p in api_support.paginate(qs, limit=size, offset=start)["items"]
        ]
        assert offsets == expected, size


def test_a_row_added_or_removed_behind_the_cursor_neither_repeats_nor_skips(
    patients: list[Patient],
) -> None:
    qs = Patient.objects.filter(organisation=patients[0].organisation, voided_at__isnull=True)
    qs = qs.order_by("-created_at")
    page = api_support.paginate(qs, limit=4)
    newer = PatientFactory(organisation=patients[0].organisation)
    Patient.objects.filter(pk=page["items"][-1].pk).update(voided_at=timezone.now())
    rest = api_support.paginate(qs, limit=50, after=page["next"])["items"]
    seen = [p.pk for p in page["items"]] + [p.pk for p in rest]
    assert newer.pk not in seen and len(seen) == len(set(seen)) == len(patients)


def test_the_count_stops_at_the_cap_and_deep_offsets_point_to_the_cursor(
    patients: list[Patient], api_for: Any, make_user: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(api_support, "COUNT_CAP", 5)
    client = api_for(make_user(Role.COORDINATOR, organisation=patients[0].organisation))
    body = client.get("/journey/patients", limit=4).json()
    assert (body["count"], body["count_exact"]) == (5, False)
    deep = client.get("/journey/patients", limit=4, offset=8)
    assert deep.status_code == 422
    assert deep.json()["error"]["code"] == "page_too_deep"
    assert "offset" in deep.json()["error"]["fields"]
    assert client.get("/journey/patients", limit=4, offset=4).status_code == 200
    seen, cursor = [], ""
    while True:
        body = client.get("/journey/patients", limit=4, after=cursor).json()
        seen += [p["external_id"] for p in body["items"]]
        if not body["next"]:
            break
        cursor = body["next"]
    assert len(seen) == len(set(seen)) == len(patients)


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64!",
        keyset.encode(["P2026-0001"]),  # too few values for patient_code, pk
        keyset.encode(["P2026-0001", "seven"]),  # the primary key is a number
        "W3siYSI6MX0sMl0",  # values that are not scalars
        keyset.encode(["P2026-0001", 7])[:-3],  # cut short
        "W10",  # an empty list
        keyset.encode([5]),  # a position cursor of a list computed in memory
    ],
)
def test_a_cursor_this_list_did_not_give_is_refused(
    patients: list[Patient], api_for: Any, make_user: Any, cursor: str
) -> None:
    client = api_for(make_user(Role.COORDINATOR, organisation=patients[0].organisation))
    resp = client.get("/journey/patients", after=cursor)
    assert resp.status_code == 422, resp.content
    assert resp.json()["error"]["code"] == "page_cursor"
    assert "after" in resp.json()["error"]["fields"]


def test_offset_and_cursor_together_are_refused(
    patients: list[Patient], api_for: Any, make_user: Any
) -> None:
    client = api_for(make_user(Role.COORDINATOR, organisation=patients[0].organisation))
    cursor = client.get("/journey/patients", limit=1).json()["next"]
    resp = client.get("/journey/patients", limit=1, offset=2, after=cursor)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "page_both"


def test_a_cursor_from_another_organisation_reaches_only_the_readers_rows(
    patients: list[Patient], other_org: Any, api_for: Any, make_user: Any
) -> None:
    theirs = [PatientFactory(organisation=other_org) for _ in range(3)]
    mine = api_for(make_user(Role.COORDINATOR, organisation=patients[0].organisation))
    other = api_for(make_user(Role.COORDINATOR, organisation=other_org))
    cursor = mine.get("/journey/patients", limit=1).json()["next"]
    body = other.get("/journey/patients", limit=50, after=cursor).json()
    assert {p["external_id"] for p in body["items"]} <= {str(p.external_id) for p in theirs}


def test_a_cursor_keeps_full_precision_of_times() -> None:
    moment = dt.datetime(2026, 12, 7, 5, 1, 2, 345678, tzinfo=dt.UTC)
    assert keyset.decode(keyset.encode([moment, Decimal("70.25"), None])) == [
        moment.isoformat(),
        "70.25",
        None,
    ]


def test_web_pages_count_up_to_the_cap_and_say_so(
    patients: list[Patient], rf: Any, monkeypatch: Any
) -> None:
    from django.template.loader import render_to_string

    from saisei.core import paging

    monkeypatch.setattr(paging, "COUNT_CAP", 5)
    qs = Patient.objects.filter(organisation=patients[0].organisation).order_by("pk")
    paginator = paging.BoundedPaginator(qs, 2)
    assert (paginator.count, paginator.count_exact, paginator.num_pages) == (5, False, 3)
    last = paginator.get_page(99)
    assert last.number == 3 and [p.pk for p in last] == [patients[4].pk]
    html = render_to_string("includes/pager.html", {"page": last, "request": rf.get("/")})
    assert "Page 3 of more than 3" in html and "Only the first 5 rows are paged" in html
    monkeypatch.setattr(paging, "COUNT_CAP", 50)
    whole = paging.BoundedPaginator(qs, 2)
    assert (whole.count, whole.count_exact) == (len(patients), True)
    html = render_to_string(
        "includes/pager.html", {"page": whole.get_page(1), "request": rf.get("/")}
    )
    assert "Page 1 of 6" in html and "more than" not in html and "Only the first" not in html
