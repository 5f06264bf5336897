"""Environmental monitoring: limits come from an approved programme per room, never from the reading.

Each test tries to break a promise: a reading without an approved programme, typed limits, a
programme approved by its own preparer, an excursion with no investigation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from saisei.core.errors import Conflict, Forbidden, ValidationFailed
from saisei.core.tests.esign import signed
from saisei.core.tests.factories import TEST_PASSWORD, SiteFactory
from saisei.processing import services
from saisei.processing.models import Deviation, EnvironmentalResult, MonitoringProgramme
from saisei.processing.tests.factories import (
    GRADE_B_LIMITS,
    SOURCE,
    approved_programme,
    plan_world,
)


@pytest.fixture
def cpc(org: Any) -> Any:
    return plan_world(org).cpc


@pytest.fixture
def room(tech: Any, qa: Any, cpc: Any) -> Any:
    return approved_programme(preparer=tech, approver=qa, site=cpc)


def _read(tech: Any, cpc: Any, **kw: Any) -> EnvironmentalResult:
    values: dict[str, Any] = {
        "room": "Processing room 1",
        "location": "cabinet 1 work surface",
        "parameter": "air_viable",
        "value": 0,
    }
    values.update(kw)
    return services.environmental_result_record(actor=tech, site=cpc, **values)


# --- the programme --------------------------------------------------------------------------------


def test_a_programme_is_prepared_by_the_cpc_and_approved_by_qa(
    tech: Any, qa: Any, cpc: Any
) -> None:
    draft = services.monitoring_programme_prepare(
        actor=tech,
        site=cpc,
        room="Processing room 1",
        grade="B",
        effective_from=timezone.localdate(),
        source=SOURCE,
        limits=GRADE_B_LIMITS,
    )
    assert draft.status == "draft" and draft.version == 1 and draft.limits.count() == 3
    with pytest.raises(Forbidden):
        services.monitoring_programme_approve(actor=tech, programme=draft, **signed(tech))
    with pytest.raises(ValidationFailed):
        services.monitoring_programme_approve(actor=qa, programme=draft, password="wrong")
    approved = services.monitoring_programme_approve(actor=qa, programme=draft, **signed(qa))
    assert approved.status == "approved" and approved.approved_by == qa
    assert approved.approval_signature["user"] == qa.username
    with pytest.raises(Conflict) as exc:
        services.monitoring_programme_approve(actor=qa, programme=draft, **signed(qa))
    assert exc.value.code == "programme_already_approved"


def test_the_preparer_cannot_approve_their_own_programme(qa: Any, cpc: Any) -> None:
    draft = services.monitoring_programme_prepare(
        actor=qa,
        site=cpc,
        room="Room X",
        grade="C",
        effective_from=timezone.localdate(),
        source=SOURCE,
        limits=[{"parameter": "settle_plate", "alert_limit": 25, "action_limit": 50}],
    )
    with pytest.raises(Conflict) as exc:
        services.monitoring_programme_approve(actor=qa, programme=draft, **signed(qa))
    assert exc.value.code == "programme_four_eyes"
    # The database refuses it too.
    with pytest.raises(IntegrityError), transaction.atomic():
        MonitoringProgramme.objects.filter(pk=draft.pk).update(
            status="approved", approved_by=qa, approved_at=timezone.now()
        )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"limits": []}, "limits_required"),
        (
            {"limits": [{"parameter": "air_viable", "alert_limit": 9, "action_limit": 5}]},
            "limits_order",
        ),
        (
            {"limits": [{"parameter": "humidity", "alert_limit": 1, "action_limit": 2}]},
            "em_parameter",
        ),
        (
            {"limits": [{"parameter": "air_viable", "alert_limit": -1, "action_limit": 2}]},
            "out_of_range",
        ),
        ({"limits": GRADE_B_LIMITS + GRADE_B_LIMITS[:1]}, "em_parameter_twice"),
        ({"source": "  "}, "source_required"),
        ({"grade": "E"}, "em_grade"),
        ({"room": ""}, "room_required"),
    ],
)
def test_a_programme_needs_ordered_limits_a_grade_and_a_source(
    tech: Any, cpc: Any, change: dict[str, Any], code: str
) -> None:
    values: dict[str, Any] = {
        "site": cpc,
        "room": "Processing room 1",
        "grade": "B",
        "effective_from": timezone.localdate(),
        "source": SOURCE,
        "limits": GRADE_B_LIMITS,
    }
    values.update(change)
    with pytest.raises(ValidationFailed) as exc:
        services.monitoring_programme_prepare(actor=tech, **values)
    assert exc.value.code == code


def test_monitoring_belongs_to_a_cell_processing_facility(tech: Any, org: Any) -> None:
    clinic = SiteFactory(organisation=org, kind="medical_institution")
    with pytest.raises(ValidationFailed) as exc:
        services.monitoring_programme_prepare(
            actor=tech,
            site=clinic,
            room="Room",
            grade="B",
            effective_from=timezone.localdate(),
            source=SOURCE,
            limits=GRADE_B_LIMITS,
        )
    assert exc.value.code == "site_not_cpc"


# --- readings ---------------------------------------------------------------------------------------


def test_a_reading_without_an_approved_programme_is_refused(tech: Any, qa: Any, cpc: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        _read(tech, cpc)
    assert exc.value.code == "em_no_programme"
    # A draft judges nothing either.
    services.monitoring_programme_prepare(
        actor=tech,
        site=cpc,
        room="Processing room 1",
        grade="B",
        effective_from=timezone.localdate() - dt.timedelta(days=3),
        source=SOURCE,
        limits=GRADE_B_LIMITS,
    )
    with pytest.raises(ValidationFailed) as exc:
        _read(tech, cpc)
    assert exc.value.code == "em_no_programme"
    assert not EnvironmentalResult.objects.exists()


def test_a_parameter_the_programme_does_not_cover_is_refused(
    tech: Any, cpc: Any, room: Any
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        _read(tech, cpc, parameter="glove_print", value=0)
    assert exc.value.code == "em_parameter_not_in_programme"
    with pytest.raises(ValidationFailed) as exc:
        _read(tech, cpc, room="Another room")
    assert exc.value.code == "em_no_programme"


def test_levels_come_from_the_programme_and_every_excursion_opens_a_deviation(
    tech: Any, cpc: Any, room: Any
) -> None:
    within = _read(tech, cpc, value=5)
    assert within.level == "within" and within.deviation is None
    assert (within.alert_limit, within.action_limit, within.unit) == (5, 10, "CFU/m³")
    assert within.programme == room
    alert = _read(tech, cpc, value=6)
    assert alert.level == "alert"
    assert alert.deviation.severity == "minor" and alert.deviation.source == "environmental"
    action = _read(tech, cpc, value=11)
    assert action.level == "action" and action.deviation.severity == "major"
    assert Deviation.objects.filter(source="environmental").count() == 2


def test_an_excursion_judged_by_a_programme_cannot_be_stored_without_a_deviation(
    tech: Any, cpc: Any, room: Any
) -> None:
    reading = _read(tech, cpc, value=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        EnvironmentalResult.objects.filter(pk=reading.pk).update(level="action")


def test_a_new_version_applies_from_its_start_day_only(
    tech: Any, qa: Any, cpc: Any, room: Any
) -> None:
    today = timezone.localdate()
    stricter = approved_programme(
        preparer=tech,
        approver=qa,
        site=cpc,
        limits=[{"parameter": "air_viable", "alert_limit": 1, "action_limit": 2}],
        effective_from=today - dt.timedelta(days=2),
    )
    assert stricter.version == 2
    old_day = timezone.now() - dt.timedelta(days=5)
    earlier = _read(tech, cpc, value=4, sampled_at=old_day)
    assert earlier.programme == room and earlier.level == "within"
    now = _read(tech, cpc, value=4)
    assert now.programme == stricter and now.level == "action"
    later = approved_programme(
        preparer=tech, approver=qa, site=cpc, effective_from=today + dt.timedelta(days=10)
    )
    assert _read(tech, cpc, value=0).programme == stricter != later


def test_clinicians_cannot_record_environmental_monitoring(
    nurse: Any, physician: Any, cpc: Any, room: Any
) -> None:
    for user in (nurse, physician):
        with pytest.raises(Forbidden):
            _read(user, cpc)


# --- API ------------------------------------------------------------------------------------------


def test_the_api_refuses_typed_limits_and_judges_by_the_programme(
    tech: Any, qa: Any, cpc: Any, api_for: Any
) -> None:
    api = api_for(tech)
    body = {
        "site": str(cpc.external_id),
        "room": "Processing room 1",
        "location": "cabinet 1",
        "parameter": "air_viable",
        "value": 12,
    }
    res = api.post("/processing/environment", body)
    assert res.status_code == 422 and res.json()["error"]["code"] == "em_no_programme"
    res = api.post(
        "/processing/environment/programmes",
        {
            "site": str(cpc.external_id),
            "room": "Processing room 1",
            "grade": "B",
            "effective_from": str(timezone.localdate()),
            "source": SOURCE,
            "limits": GRADE_B_LIMITS,
        },
    )
    assert res.status_code == 201, res.content
    programme = res.json()
    assert programme["status"] == "draft" and len(programme["limits"]) == 3
    approve = f"/processing/environment/programmes/{programme['external_id']}/approve"
    assert api.post(approve, {"password": TEST_PASSWORD}).status_code == 403
    res = api_for(qa).post(approve, signed(qa))
    assert res.status_code == 200 and res.json()["approved_by"] == qa.username
    res = api.post("/processing/environment", {**body, "alert_limit": 100, "action_limit": 200})
    assert res.status_code == 422
    assert "approved monitoring programme" in str(res.json()["error"]["fields"])
    res = api.post("/processing/environment", body)
    assert res.status_code == 201, res.content
    reading = res.json()
    assert reading["level"] == "action" and reading["deviation"]
    assert (reading["alert_limit"], reading["action_limit"], reading["unit"]) == (5, 10, "CFU/m³")
    assert reading["programme"] == programme["external_id"]


def test_programme_and_reading_lists_keep_a_constant_query_count(
    tech: Any, qa: Any, cpc: Any, api_for: Any, django_assert_max_num_queries: Any
) -> None:
    api = api_for(tech)
    for n in range(4):
        approved_programme(preparer=tech, approver=qa, site=cpc, room=f"Room {n}")
        _read(tech, cpc, room=f"Room {n}", value=n)
    with django_assert_max_num_queries(12):
        assert api.get("/processing/environment/programmes").json()["count"] == 4
    with django_assert_max_num_queries(12):
        assert api.get("/processing/environment").json()["count"] == 4


# --- web ------------------------------------------------------------------------------------------


def test_the_reading_form_has_no_limits_and_judges_by_the_programme(
    tech: Any, cpc: Any, room: Any, web_for: Any
) -> None:
    client = web_for(tech)
    page = client.get("/processing/environment/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="alert_limit"' not in html and 'name="action_limit"' not in html
    assert "Processing room 1" in html
    res = client.post(
        "/processing/environment/",
        {
            "programme": str(room.external_id),
            "location": "cabinet 1",
            "parameter": "settle_plate",
            "value": 6,
        },
    )
    assert res.status_code == 302
    reading = EnvironmentalResult.objects.get()
    assert reading.level == "action" and reading.action_limit == 5
    res = client.post(
        "/processing/environment/",
        {
            "programme": str(room.external_id),
            "location": "x",
            "parameter": "glove_print",
            "value": 0,
        },
    )
    assert res.status_code == 400
    assert "sets no limits" in res.content.decode()


def test_the_programme_pages_prepare_and_approve_with_four_eyes(
    tech: Any, qa: Any, cpc: Any, web_for: Any
) -> None:
    client = web_for(tech)
    data = {
        "site": cpc.pk,
        "room": "Grade A cabinet",
        "grade": "A",
        "effective_from": str(timezone.localdate()),
        "source": SOURCE,
        "alert_settle_plate": 0,
        "action_settle_plate": 0,
    }
    res = client.post("/processing/environment/programmes/", {**data, "action_air_viable": 1})
    assert res.status_code == 400  # an alert limit without its action limit
    res = client.post("/processing/environment/programmes/", data)
    assert res.status_code == 302, res.content
    programme = MonitoringProgramme.objects.get(room="Grade A cabinet")
    url = f"/processing/environment/programmes/{programme.external_id}/"
    assert client.post(url, {"password": TEST_PASSWORD, "meaning": "ok"}).status_code == 403
    qa_client = web_for(qa)
    assert "Sign and approve" in qa_client.get(url).content.decode()
    res = qa_client.post(url, {"password": "wrong", "meaning": "I approve"})
    assert res.status_code == 400
    res = qa_client.post(url, signed(qa, meaning="I approve"))
    assert res.status_code == 302
    programme.refresh_from_db()
    assert programme.status == "approved" and programme.approved_by == qa
