"""Missing facts never loosen the gate (issue 10, item 3).

``POST /api/v1/compliance/check`` with a field left out is judged on what the records say
(patient's diagnosis, donation, dose), never on the plan's own values; if no record can answer,
the check refuses with that fact's own rule. So leaving a field out is never more permissive
than stating a wrong value. Proved for every optional field, through the API, and as a
property of the pure rule layer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from saisei.core.timezones import TOKYO
from saisei.processing.models import Dose
from saisei.regulatory.rules import (
    Act,
    AuthorisationPeriod,
    ConsentFacts,
    FacilityFacts,
    GateFacts,
    GateRequest,
    PlanState,
    evaluate_gate,
)
from saisei.regulatory.tests.factories import FacilityFactory
from saisei.treatment.tests.factories import make_world

pytestmark = pytest.mark.django_db

# Each optional field: (a wrong value, the rule that refuses it when no record can answer).
OPTIONAL = {
    "cell_source": ("allogeneic", "GATE-CELL-SOURCE-UNKNOWN"),
    "route": ("intrathecal", "GATE-ROUTE-UNKNOWN"),
    "dose_cells": (900_000_000, "GATE-DOSE-UNKNOWN"),
    "facility_id": ("other-facility", "GATE-CPC-UNKNOWN"),
    "indication": ("Knee osteoarthritis", "GATE-INDICATION-UNKNOWN"),
}


@pytest.fixture
def world(org: Any) -> Any:
    return make_world(org)


def full_body(w: Any) -> dict[str, Any]:
    """Every fact stated, every one right: the gate allows it (the control case)."""
    at = timezone.now().astimezone(TOKYO)
    return {
        "act": "administration",
        "institution_id": str(w.institution.external_id),
        "physician_id": str(w.physician.external_id),
        "patient_id": str(w.patient.external_id),
        "plan_id": str(w.plan.external_id),
        "at": at.isoformat(),
        "cell_source": "autologous",
        "route": "iv",
        "dose_cells": 200_000_000,
        "administration_number": 1,
        "facility_id": str(w.facility.external_id),
        "indication": "Alzheimer's disease",
    }


def check(api: Any, body: dict[str, Any]) -> dict[str, Any]:
    res = api.post("/compliance/check", body)
    assert res.status_code == 200, res.content
    return res.json()


def blocking(out: dict[str, Any]) -> set[str]:
    return {f["rule"] for f in out["findings"] if f["severity"] == "block"}


def wrong(w: Any, field: str) -> Any:
    value, _rule = OPTIONAL[field]
    if field == "facility_id":
        return str(FacilityFactory(organisation=w.org).external_id)
    return value


def without_records(w: Any) -> None:
    """A patient with no coded diagnosis; no donation or dose named: no record can answer."""
    w.patient.diagnosis_code = ""
    w.patient.save()


def test_every_fact_stated_and_right_is_allowed(api_for: Any, world: Any) -> None:
    out = check(api_for(world.physician_user), full_body(world))
    assert out["allowed"] is True, out["findings"]


@pytest.mark.parametrize("field", list(OPTIONAL))
def test_a_left_out_fact_no_record_holds_is_refused_like_a_wrong_one(
    api_for: Any, world: Any, field: str
) -> None:
    without_records(world)
    api = api_for(world.physician_user)
    body = full_body(world)
    omitted = check(api, {k: v for k, v in body.items() if k != field})
    stated_wrong = check(api, {**body, field: wrong(world, field)})
    assert stated_wrong["allowed"] is False
    assert omitted["allowed"] is False  # never more permissive than the wrong value
    assert OPTIONAL[field][1] in blocking(omitted)


@pytest.mark.parametrize("field", list(OPTIONAL))
def test_a_left_out_fact_is_read_from_the_records_never_from_the_plan(
    api_for: Any, world: Any, field: str
) -> None:
    """The records say something the plan does not cover; leaving the field out cannot hide it."""
    other_facility = FacilityFactory(organisation=world.org)
    dose = Dose.objects.get(pk=world.doses[0].pk)
    if field == "cell_source":
        world.donation.cell_source = "allogeneic"
        world.donation.save()
        expected = "GATE-CELL-SOURCE-NOT-IN-PLAN"
    elif field == "route":
        world.lot.route = "intrathecal"
        world.lot.save()
        expected = "GATE-ROUTE-NOT-IN-PLAN"
    elif field == "dose_cells":
        Dose.objects.filter(pk=dose.pk).update(cell_count=900_000_000)
        expected = "GATE-DOSE-OUTSIDE-PLAN"
    elif field == "facility_id":
        world.donation.facility = other_facility
        world.donation.save()
        expected = "GATE-CPC-NOT-LISTED"
    else:
        world.patient.diagnosis_code = "knee_osteoarthritis"
        world.patient.save()
        expected = "GATE-INDICATION-NOT-IN-PLAN"
    api = api_for(world.physician_user)
    body = {k: v for k, v in full_body(world).items() if k != field}
    out = check(api, {**body, "dose_id": str(dose.external_id)})
    assert out["allowed"] is False
    assert expected in blocking(out), out["findings"]


@pytest.mark.parametrize("field", list(OPTIONAL))
def test_leaving_a_fact_out_equals_stating_what_the_record_says(
    api_for: Any, world: Any, field: str
) -> None:
    api = api_for(world.physician_user)
    body = {**full_body(world), "dose_id": str(world.doses[0].external_id)}
    stated = check(api, body)
    omitted = check(api, {k: v for k, v in body.items() if k != field})
    assert stated["allowed"] is True and omitted["allowed"] is True
    # A stated value that contradicts the record is refused, so omission is never looser.
    contradicted = check(api, {**body, field: wrong(world, field)})
    assert contradicted["allowed"] is False
    assert blocking(omitted) <= blocking(contradicted)


def test_a_left_out_administration_number_counts_the_records(
    api_for: Any, world: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr("saisei.regulatory.services.gate._administrations_given", lambda **kw: 5)
    api = api_for(world.physician_user)
    body = full_body(world)
    omitted = check(api, {k: v for k, v in body.items() if k != "administration_number"})
    stated_wrong = check(api, {**body, "administration_number": 1})
    assert omitted["allowed"] is False and "GATE-ADMINISTRATION-LIMIT" in blocking(omitted)
    assert stated_wrong["allowed"] is False


def test_the_donation_answers_for_a_harvest_check(api_for: Any, world: Any) -> None:
    api = api_for(world.physician_user)
    body = {
        k: v
        for k, v in full_body(world).items()
        if k not in ("cell_source", "facility_id", "route", "dose_cells", "administration_number")
    }
    body["act"] = "harvest"
    assert check(api, body)["allowed"] is False
    out = check(api, {**body, "donation_id": str(world.donation.external_id)})
    assert out["allowed"] is True, out["findings"]


def test_a_dose_or_donation_of_another_organisation_is_not_found(
    api_for: Any, world: Any, other_org: Any
) -> None:
    stranger = make_world(other_org)
    res = api_for(world.physician_user).post(
        "/compliance/check", {**full_body(world), "dose_id": str(stranger.doses[0].external_id)}
    )
    assert res.status_code == 404


# --- the same promise as a property of the pure rule layer ----------------------------------

AT = dt.datetime(2026, 6, 1, 10, 0, tzinfo=TOKYO)
FACTS = GateFacts(
    plan_version_id=1,
    plan_state=PlanState.IN_FORCE,
    risk_class=2,
    institution_id=1,
    submitted_date=dt.date(2025, 1, 1),
    accepted_date=dt.date(2025, 1, 10),
    in_force_from=dt.date(2025, 1, 10),
    listed_physician_ids=frozenset({11}),
    allowed_cell_sources=frozenset({"autologous"}),
    allowed_indications=frozenset({"alzheimers_disease"}),
    allowed_routes=frozenset({"iv"}),
    dose_min_cells=100,
    dose_max_cells=300,
    max_administrations=5,
    listed_facilities=(
        FacilityFacts(
            7, (AuthorisationPeriod("licensed", dt.date(2020, 1, 1), dt.date(2099, 1, 1)),)
        ),
    ),
    consent=ConsentFacts(status="valid", plan_version_id=1, patient_id=100),
)
FIELDS = {
    "physician_id": st.sampled_from([11, 12, -1]),
    "cell_source": st.sampled_from(["autologous", "allogeneic", "xenogeneic"]),
    "indication": st.sampled_from(["alzheimers_disease", "parkinsons_disease", "gout"]),
    "route": st.sampled_from(["iv", "intrathecal", "intra_articular"]),
    "dose_cells": st.integers(min_value=1, max_value=1000),
    "facility_id": st.sampled_from([7, 8, -1]),
}


@given(
    act=st.sampled_from([Act.HARVEST, Act.ADMINISTRATION]),
    values=st.fixed_dictionaries(FIELDS),
    left_out=st.sampled_from(sorted(FIELDS)),
)
def test_a_fact_left_out_is_never_more_permissive_than_any_stated_value(act, values, left_out):
    request = GateRequest(
        act=act,
        at=AT,
        institution_id=1,
        patient_id=100,
        plan_version_id=1,
        administration_number=1,
        **values,
    )
    stated = evaluate_gate(request, FACTS)
    omitted = evaluate_gate(replace(request, **{left_out: None}), FACTS)
    if act is Act.HARVEST and left_out in ("route", "dose_cells"):
        # A harvest has no route or dose: those rules do not apply to it at all.
        assert omitted.allowed == stated.allowed
    else:
        assert omitted.allowed is False
        assert not (omitted.allowed and not stated.allowed)
