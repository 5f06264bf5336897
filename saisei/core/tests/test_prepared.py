"""Prepared queries answer exactly what the ORM answers, and refuse what they cannot prepare."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from saisei.core.errors import NotFound
from saisei.core.models import DailyRun, Notification, Site
from saisei.core.prepared import Prepared, PreparedObjects
from saisei.core.selectors import prepared_get
from saisei.core.tests.factories import SiteFactory
from saisei.core.timezones import TOKYO

pytestmark = pytest.mark.django_db


def _notes_before(user_id: int, at: dt.datetime) -> Any:
    return (
        Notification.objects.filter(user_id=user_id, created_at__lte=at)
        .order_by("-created_at", "-pk")
        .values_list("subject", "created_at", "read_at")
    )


NOTES = Prepared(_notes_before, user_id=int, at=dt.datetime)


def test_rows_equal_the_orm_for_every_value(org, make_user):
    user = make_user("coordinator", org)
    other = make_user("nurse", org)
    base = dt.datetime(2026, 3, 1, 9, 0, tzinfo=TOKYO)
    for i in range(4):
        Notification.objects.create(
            organisation=org,
            user=user if i % 2 == 0 else other,
            subject=f"note {i}",
            created_at=base + dt.timedelta(days=i),
            read_at=base + dt.timedelta(days=i, hours=1) if i == 2 else None,
        )
    for who in (user, other):
        for day in range(-1, 6):
            at = base + dt.timedelta(days=day, minutes=30)
            assert NOTES.rows(user_id=who.pk, at=at) == list(_notes_before(who.pk, at))
    # A time in another zone is the same instant: the same answer.
    at = (base + dt.timedelta(days=2, minutes=30)).astimezone(dt.UTC)
    assert NOTES.rows(user_id=user.pk, at=at) == list(_notes_before(user.pk, at))
    assert NOTES.rows(user_id=user.pk, at=at)[0][2] is not None  # converted, not text


def test_dates_uuids_and_flat_lists(org):
    for day in (dt.date(2026, 1, 1), dt.date(2026, 1, 5), dt.date(2026, 2, 1)):
        DailyRun.objects.create(day=day)
    days = Prepared(
        lambda since: (
            DailyRun.objects.filter(day__gte=since).order_by("day").values_list("day", flat=True)
        ),
        since=dt.date,
    )
    assert days.rows(since=dt.date(2026, 1, 2)) == [dt.date(2026, 1, 5), dt.date(2026, 2, 1)]
    site = SiteFactory(organisation=org)
    by_key = Prepared(
        lambda key: Site.objects.filter(external_id=key).values_list("name", flat=True),
        key=uuid.UUID,
    )
    assert by_key.rows(key=site.external_id) == [site.name]
    assert by_key.rows(key=uuid.uuid4()) == []
    assert by_key.first(key=uuid.uuid4()) is None


def test_one_query_per_run(org, make_user):
    user = make_user("coordinator", org)
    with CaptureQueriesContext(connection) as ctx:
        NOTES.rows(user_id=user.pk, at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        NOTES.rows(user_id=user.pk, at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    assert len(ctx.captured_queries) == 2


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"user_id": None, "at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, TypeError),
        ({"user_id": True, "at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, TypeError),
        ({"user_id": "1", "at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, TypeError),
        ({"user_id": 1, "at": dt.date(2026, 1, 1)}, TypeError),
        ({"user_id": 1}, TypeError),
    ],
)
def test_wrong_values_are_refused(db, values, problem):
    with pytest.raises(problem):
        NOTES.rows(**values)


def test_a_date_parameter_refuses_a_datetime(db):
    days = Prepared(
        lambda since: DailyRun.objects.filter(day__gte=since).values_list("day"), since=dt.date
    )
    with pytest.raises(TypeError):
        days.rows(since=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def test_what_cannot_be_prepared_is_refused_when_compiled(db):
    ignored = Prepared(lambda pk: DailyRun.objects.values_list("day"), pk=int)
    with pytest.raises(ImproperlyConfigured):
        ignored.rows(pk=1)
    not_values = Prepared(lambda pk: DailyRun.objects.filter(pk=pk), pk=int)
    with pytest.raises(ImproperlyConfigured):
        not_values.rows(pk=1)
    with pytest.raises(ImproperlyConfigured):
        Prepared(lambda when: DailyRun.objects.filter(pk=when).values_list("day"), when=float)


SITES = PreparedObjects(
    Site,
    lambda organisation_id, external_id: Site.objects.filter(
        organisation_id=organisation_id, external_id=external_id
    ),
    related=("organisation",),
    organisation_id=int,
    external_id=uuid.UUID,
)


def test_objects_equal_the_orm_with_relations_loaded(org):
    site = SiteFactory(organisation=org, name="Tokyo")
    with CaptureQueriesContext(connection) as ctx:
        found = SITES.first(organisation_id=org.pk, external_id=site.external_id)
        assert found.organisation.slug == org.slug  # joined, no second query
    assert len(ctx.captured_queries) == 1
    expected = Site.objects.get(pk=site.pk)
    assert found == expected
    for field in Site._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname)
    assert found._state.adding is False


def test_prepared_get_scopes_to_the_actors_organisation(org, other_org, make_user):
    mine = SiteFactory(organisation=org)
    theirs = SiteFactory(organisation=other_org)
    user = make_user("coordinator", org)
    assert prepared_get(SITES, user, mine.external_id) == mine
    assert prepared_get(SITES, user, str(mine.external_id)) == mine
    for key in (theirs.external_id, uuid.uuid4(), "not-a-uuid", None):
        with pytest.raises(NotFound):
            prepared_get(SITES, user, key)
    nobody = make_user("coordinator", None)
    with pytest.raises(NotFound):
        prepared_get(SITES, nobody, mine.external_id)
