"""An upgraded seriousness starts new clocks from the day it became known; old clocks stay.

Reg. Art. 35 counts the 7- and 15-day reports from the day the reporter learned of the serious
case. An event first known as non-serious and later found serious is serious from the day that
was learned, not from the first recording; clocks already running are never moved or dropped.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from saisei.core.errors import ValidationFailed
from saisei.core.timezones import TOKYO
from saisei.regulatory.models import Obligation
from saisei.safety import services
from saisei.treatment.tests.factories import make_world

pytestmark = pytest.mark.django_db
D = dt.timedelta


@pytest.fixture
def world(org):
    return make_world(org)


def _at(days_ago: int, hour: int = 10) -> dt.datetime:
    day = timezone.localdate(timezone=TOKYO) - D(days=days_ago)
    return dt.datetime.combine(day, dt.time(hour, 0), TOKYO)


def _clocks(event) -> dict[str, tuple[dt.date, str]]:
    return {
        o.rule_id: (o.due_date, o.status)
        for o in Obligation.objects.filter(subject_id=str(event.external_id))
    }


def _suspected_fever(world, days_ago: int = 10):
    return services.adverse_event_record(
        actor=world.physician_user,
        patient=world.patient,
        term="Fever",
        onset_date=_at(days_ago).date(),
        severity_grade=2,
        related_cells="possible",
        aware_at=_at(days_ago),
    )


def test_an_upgrade_counts_from_the_day_it_became_known_and_keeps_the_old_clocks(world):
    event = _suspected_fever(world, days_ago=10)
    batch = Obligation.objects.get(rule_id="AE-COMMITTEE-60D-BATCH")
    first = _clocks(event)
    services.adverse_event_update(
        actor=world.physician_user,
        event=event,
        hospitalisation=True,
        severity_grade=3,
        known_at=_at(4),
    )
    after = _clocks(event)
    known = _at(4).date()
    assert after["AE-COMMITTEE-15D"][0] == known + D(15)  # not aware date + 15
    assert after["AE-MINISTRY-15D"][0] == known + D(15)
    for rule, due in first.items():
        assert after[rule] == due, f"{rule} moved or vanished"
    batch.refresh_from_db()
    assert batch.status == "open" and batch.voided_at is None

    # A second upgrade, to death, adds the 7-day clocks and leaves the 15-day ones.
    services.adverse_event_update(
        actor=world.physician_user,
        event=event,
        death=True,
        severity_grade=5,
        known_at=_at(1),
    )
    latest = _clocks(event)
    assert latest["AE-COMMITTEE-7D"][0] == _at(1).date() + D(7)
    assert latest["AE-COMMITTEE-15D"] == after["AE-COMMITTEE-15D"]


def test_a_correction_that_is_not_an_upgrade_starts_nothing_and_moves_nothing(world):
    event = services.adverse_event_record(
        actor=world.physician_user,
        patient=world.patient,
        term="Pneumonia",
        onset_date=_at(6).date(),
        severity_grade=3,
        hospitalisation=True,
        aware_at=_at(6),
    )
    before = _clocks(event)
    services.adverse_event_update(
        actor=world.physician_user,
        event=event,
        description="Chest X-ray added",
        known_at=_at(0, hour=0),
    )
    # A downgrade keeps the clocks that were running too: only a person voids one, with a reason.
    services.adverse_event_update(actor=world.physician_user, event=event, hospitalisation=False)
    assert _clocks(event) == before


def test_the_day_it_became_known_cannot_be_in_the_future_or_before_the_event(world):
    event = _suspected_fever(world, days_ago=3)
    with pytest.raises(ValidationFailed) as exc:
        services.adverse_event_update(
            actor=world.physician_user,
            event=event,
            hospitalisation=True,
            known_at=timezone.now() + D(days=1),
        )
    assert "known_at" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.adverse_event_update(
            actor=world.physician_user, event=event, hospitalisation=True, known_at=_at(5)
        )
    assert "known_at" in exc.value.fields
    assert "AE-COMMITTEE-15D" not in _clocks(event)


def test_api_upgrade_answers_the_new_clock_counted_from_the_day_known(api_for, world):
    event = _suspected_fever(world, days_ago=10)
    client = api_for(world.physician_user)
    path = f"/safety/events/{event.external_id}/seriousness"
    res = client.post(path, {"hospitalisation": True, "known_at": _at(2).isoformat()})
    assert res.status_code == 200, res.content
    clocks = {c["rule"]: c for c in res.json()["clocks"]}
    assert clocks["AE-COMMITTEE-15D"]["due_date"] == (_at(2).date() + D(15)).isoformat()
    assert "AE-FACILITY-PROMPT" in clocks  # the first clock is still there, unmoved
    bad = client.post(path, {"death": True, "known_at": (timezone.now() + D(days=2)).isoformat()})
    assert bad.status_code == 422 and "known_at" in bad.json()["error"]["fields"]
    assert client.post(path, {}).status_code == 422


def test_web_form_upgrade_counts_from_the_day_known(web_for, world):
    event = _suspected_fever(world, days_ago=10)
    client = web_for(world.physician_user)
    page = client.get(f"/safety/events/{event.external_id}/").content.decode()
    assert 'name="known_at"' in page
    known = _at(3)
    res = client.post(
        f"/safety/events/{event.external_id}/seriousness/",
        {
            "disability": "on",
            "severity_grade": "3",
            "known_at": known.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert res.status_code == 302, res.content.decode()[:1500]
    assert _clocks(event)["AE-COMMITTEE-15D"][0] == known.date() + D(15)
    res = client.post(
        f"/safety/events/{event.external_id}/seriousness/",
        {
            "death": "on",
            "severity_grade": "5",
            "known_at": (timezone.now() + D(days=3)).astimezone(TOKYO).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert res.status_code == 400
    assert "AE-COMMITTEE-7D" not in _clocks(event)
