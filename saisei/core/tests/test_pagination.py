"""API list pages past the first (a deferred join on the list's keys) hold exactly the rows and
order a plain OFFSET gives, with one query more than the first page whatever the offset."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from saisei.core.models import Organisation
from saisei.core.services import user_create

pytestmark = pytest.mark.django_db

LISTS = [
    "/journey/patients",
    "/journey/inquiries",
    "/processing/doses",
    "/outcomes/assessments",
    "/treatment/administrations",
    "/safety/events",
]


@pytest.fixture
def reader(api_for: Any) -> Any:
    call_command(
        "seed", patients=30, organisations=1, seed=5, stdout=io.StringIO(), stderr=io.StringIO()
    )
    org = Organisation.objects.get(slug="synth-s5-o1")
    user = user_create(
        actor=None,
        organisation=org,
        username="pages-reader",
        password="pages-only-password-2026",
        roles=["coordinator", "physician", "nurse", "cpc_technician", "compliance_officer"],
        validate=False,
    )
    return api_for(user)


def _key(item: dict[str, Any]) -> str:
    return str(item.get("external_id") or item["id"])


def _pages(reader: Any, path: str, size: int, count: int) -> tuple[list[str], set[int]]:
    keys: list[str] = []
    queries: set[int] = set()
    for offset in range(0, count, size):
        with CaptureQueriesContext(connection) as ctx:
            body = reader.get(path, limit=size, offset=offset).json()
        assert body["offset"] == offset and body["count"] == count
        keys += [_key(item) for item in body["items"]]
        queries.add(len(ctx.captured_queries))
    return keys, queries


@pytest.mark.parametrize("path", LISTS)
def test_later_pages_are_the_plain_offset_pages_with_the_same_queries(
    reader: Any, path: str, monkeypatch: Any
) -> None:
    from saisei.core import api_support

    count = reader.get(path, limit=1).json()["count"]
    assert count >= 2, path
    size = 7 if count > 20 else 1
    with CaptureQueriesContext(connection) as first:
        reader.get(path, limit=size, offset=0)
    keys, queries = _pages(reader, path, size, count)
    assert len(keys) == count == len(set(keys)), path
    later = queries - {len(first.captured_queries)}
    assert len(later) == 1 and later.pop() == len(first.captured_queries) + 1, (path, queries)
    with monkeypatch.context() as m:  # the same pages by a plain OFFSET
        m.setattr(
            api_support, "_page_rows", lambda qs, *, offset, limit: qs[offset : offset + limit]
        )
        plain, _ = _pages(reader, path, size, count)
    assert keys == plain, path
    past = reader.get(path, limit=size, offset=count + 10).json()
    assert past["items"] == [] and past["offset"] == count
