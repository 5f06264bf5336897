"""The infusion checks who gives it and how much (issue 10, item 5): the performing physician is
listed on the plan version in force, the cells given lie in the plan's range, and the facility
that made the bag is listed and authorised. Tried through the service, the API and the web form."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from saisei.core.tests.factories import TEST_PASSWORD, UserFactory
from saisei.journey.tests.factories import ConsentDocumentFactory, ConsentFactory
from saisei.processing.models import Dose
from saisei.regulatory import models as rm
from saisei.regulatory.models import GateRefusal
from saisei.regulatory.services import GateRefused
from saisei.regulatory.tests.factories import FacilityFactory, PhysicianFactory, VersionFactory
from saisei.treatment import services
from saisei.treatment.models import Administration
from saisei.treatment.tests.factories import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org):
    w = make_world(org)
    step = w.steps[0]
    step.planned_date = timezone.localdate()
    step.save()
    return w


def verify(w, *, route="iv", actor=None):
    return services.bedside_verify(
        actor=actor or w.nurse,
        patient_scan=w.wristband,
        product_scans=[w.labels[0]],
        course_step=w.steps[0],
        route=route,
    )


def record(w, v, **kw):
    kw.setdefault("second_person", w.nurse2)
    kw.setdefault("second_person_password", TEST_PASSWORD)
    kw.setdefault("physician", w.physician_user)
    return services.administration_record(actor=w.nurse, verification=v, **kw)


def refused_with(exc, rule):
    assert exc.value.status_code == 422
    assert exc.value.code == "compliance_gate_refused"
    assert rule in exc.value.fields, exc.value.fields
    assert not Administration.objects.exists()
    assert Dose.objects.get(sequence=1, lot__donation__patient__isnull=False).status == "thawed"
    assert rule in GateRefusal.objects.get(act="administration").rules


def unlisted_physician(w):
    return PhysicianFactory(organisation=w.org, institution=w.institution).user


# --- who gives it ----------------------------------------------------------------------------


def test_a_physician_not_listed_on_the_plan_cannot_be_named_for_the_infusion(world):
    v = verify(world)
    assert v.passed, v.checks
    with pytest.raises(GateRefused) as exc:
        record(world, v, physician=unlisted_physician(world))
    refused_with(exc, "GATE-PHYSICIAN-NOT-LISTED")


def test_a_physician_only_on_an_older_plan_version_is_not_listed_now(world):
    """The version in force decides: a physician dropped from version 2 may no longer infuse."""
    today = timezone.localdate()
    old = world.version
    old.state = rm.PlanState.SUPERSEDED
    old.in_force_until = today - dt.timedelta(days=11)
    old.save()
    new = VersionFactory(
        plan=world.plan,
        organisation=world.org,
        number=2,
        state=rm.PlanState.IN_FORCE,
        submitted_date=today - dt.timedelta(days=100),
        accepted_date=today - dt.timedelta(days=90),
        in_force_from=today - dt.timedelta(days=10),
        routes=["iv"],
        dose_min_cells=100_000_000,
        dose_max_cells=300_000_000,
        max_administrations=5,
    )
    new.facilities.add(world.facility)
    new.physicians.add(PhysicianFactory(organisation=world.org, institution=world.institution))
    ConsentFactory(
        organisation=world.org,
        patient=world.patient,
        document=ConsentDocumentFactory(plan_version=new, organisation=world.org),
        plan_version=new,
        signed_at=timezone.now() - dt.timedelta(days=5),
    )
    v = verify(world)
    assert not v.passed  # the bedside check already names the course physician
    assert "GATE-PHYSICIAN-NOT-LISTED" in [f["rule"] for f in v.gate_result["findings"]]


# --- how much --------------------------------------------------------------------------------


@pytest.mark.parametrize("cells", [99_999_999, 300_000_001])
def test_cells_given_outside_the_plans_range_are_refused(world, cells):
    with pytest.raises(GateRefused) as exc:
        record(world, verify(world), cells_given=cells)
    refused_with(exc, "GATE-DOSE-OUTSIDE-PLAN")


@pytest.mark.parametrize("cells", [100_000_000, 300_000_000])
def test_cells_given_at_the_bounds_of_the_range_are_allowed(world, cells):
    administration = record(world, verify(world), cells_given=cells)
    assert administration.cells_given == cells
    assert administration.gate_result["allowed"] is True


def test_a_bag_whose_count_is_outside_the_range_cannot_be_given_whole(world):
    """With no amount stated, the bag's own cell count is what the gate judges."""
    Dose.objects.filter(pk=world.doses[0].pk).update(cell_count=400_000_000)
    v = verify(world)
    assert not v.passed
    assert "GATE-DOSE-OUTSIDE-PLAN" in [f["rule"] for f in v.gate_result["findings"]]


# --- where it was made -----------------------------------------------------------------------


def test_a_bag_made_by_a_facility_not_listed_on_the_plan_is_refused(world):
    other = FacilityFactory(organisation=world.org)
    world.donation.facility = other
    world.donation.save()
    v = verify(world)
    assert not v.passed
    assert "GATE-CPC-NOT-LISTED" in [f["rule"] for f in v.gate_result["findings"]]


def test_a_bag_made_by_a_facility_whose_authorisation_lapsed_is_refused(world):
    v = verify(world)
    assert v.passed
    licence = world.facility.authorisations.get()
    licence.ended_on = timezone.localdate() - dt.timedelta(days=1)
    licence.end_reason = "withdrawn"
    licence.save()
    with pytest.raises(GateRefused) as exc:
        record(world, v)
    refused_with(exc, "GATE-CPC-NOT-AUTHORISED")


def test_a_route_other_than_the_lots_contradicts_the_record(world):
    world.version.routes = ["iv", "intrathecal"]
    world.version.save()
    v = verify(world, route="intrathecal")
    assert not v.passed
    assert "GATE-FACT-CONFLICTS-RECORD" in [f["rule"] for f in v.gate_result["findings"]]


def test_a_donation_without_a_recorded_cell_source_cannot_be_given(world):
    world.donation.cell_source = ""
    world.donation.save()
    v = verify(world)
    assert "GATE-CELL-SOURCE-UNKNOWN" in [f["rule"] for f in v.gate_result["findings"]]


def test_a_refusal_under_the_lock_leaves_the_bag_and_the_step_untouched(world, monkeypatch):
    """If the facts change between the first check and the lock, the second check refuses."""
    v = verify(world)
    from saisei.regulatory.services import gate as gate_service

    calls = {"n": 0}
    real = gate_service.gate_check

    def second_call_refuses(**kw):
        calls["n"] += 1
        if calls["n"] == 2:
            kw["dose_cells"] = 1
        return real(**kw)

    monkeypatch.setattr(gate_service, "gate_check", second_call_refuses)
    monkeypatch.setattr("saisei.regulatory.services.gate_check", second_call_refuses)
    with pytest.raises(GateRefused) as exc:
        record(world, v)
    refused_with(exc, "GATE-DOSE-OUTSIDE-PLAN")
    world.steps[0].refresh_from_db()
    assert world.steps[0].status == "scheduled"


def test_one_infusion_step_takes_one_administration(org, world):
    """Two bags both verified for infusion 1 before either is given: only one may be."""
    from saisei.core.errors import Conflict
    from saisei.journey.models import TreatmentCourse
    from saisei.processing.models import Donation

    other = make_world(org, base=world)
    for model in (Donation, Dose, TreatmentCourse):
        model.objects.filter(patient=other.patient).update(patient=world.patient)
    # The second bag comes from a repeat harvest of the same course, so it carries its identifier.
    Donation.objects.filter(pk=other.donation.pk).update(course=world.course, coi=world.coi)
    Dose.objects.filter(lot__donation=other.donation).update(coi=world.coi)
    first = verify(world)
    second = services.bedside_verify(
        actor=world.nurse,
        patient_scan=world.wristband,
        product_scans=[other.labels[0]],
        course_step=world.steps[0],
        route="iv",
    )
    assert first.passed and second.passed, second.checks
    record(world, first)
    with pytest.raises(Conflict) as exc:
        record(world, second)
    assert exc.value.code == "step_already_administered"
    assert Administration.objects.count() == 1


# --- every channel ---------------------------------------------------------------------------


def payload(w, **kw):
    data = {
        "second_person_username": w.nurse2.username,
        "second_person_password": TEST_PASSWORD,
        "physician_username": w.physician_user.username,
    }
    data.update(kw)
    return data


def bedside(client, w):
    body = {
        "patient_scan": w.wristband,
        "product_scans": [w.labels[0]],
        "course_step": str(w.steps[0].external_id),
        "route": "iv",
    }
    return client.post("/bedside/verify", body).json()["verification"]


@pytest.mark.parametrize("role", ["nurse", "physician"])
def test_the_api_answers_422_with_the_findings_for_an_unlisted_physician(api_for, world, role):
    actor = world.nurse if role == "nurse" else UserFactory(organisation=world.org, roles=[role])
    client = api_for(actor)
    other = unlisted_physician(world)
    res = client.post(
        "/treatment/administrations",
        {
            "verification": bedside(client, world),
            **payload(world, physician_username=other.username),
        },
    )
    assert res.status_code == 422, res.content
    error = res.json()["error"]
    assert error["code"] == "compliance_gate_refused"
    message, source = error["fields"]["GATE-PHYSICIAN-NOT-LISTED"]
    assert "not listed" in message and source.startswith("ASRM Art. 4(1)")
    assert not Administration.objects.exists()


def test_the_api_answers_422_for_cells_outside_the_range(api_for, world):
    client = api_for(world.nurse)
    res = client.post(
        "/treatment/administrations",
        {"verification": bedside(client, world), **payload(world, cells_given=500_000_000)},
    )
    assert res.status_code == 422
    assert "GATE-DOSE-OUTSIDE-PLAN" in res.json()["error"]["fields"]


def _scan(client, w):
    return client.post(
        reverse("treatment:bedside", args=[w.steps[0].external_id]),
        {
            "patient_scan": w.wristband,
            "product_scan": w.labels[0],
            "route": "iv",
            "step": str(w.steps[0].external_id),
        },
    ).context["verification"]


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ("physician", "This physician is not listed in the plan."),
        ("cells_given", "is outside the plan"),
    ],
)
def test_the_web_form_shows_the_refusal_as_a_form_error(web_for, world, change, text):
    client = web_for(world.nurse)
    verification = _scan(client, world)
    form = {
        "physician": world.physician_user.pk,
        "second_person": world.nurse2.pk,
        "second_person_password": TEST_PASSWORD,
    }
    if change == "physician":
        form["physician"] = unlisted_physician(world).pk
    else:
        form["cells_given"] = "50000000"
    r = client.post(reverse("treatment:administer", args=[verification.external_id]), form)
    assert r.status_code == 400
    page = r.content.decode()
    assert text in page and "ASRM Art." in page
    assert not Administration.objects.exists()
