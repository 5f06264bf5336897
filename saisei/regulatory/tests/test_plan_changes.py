"""A plan cannot be widened by the back door: minor changes, pending changes and step dates.

A minor change (notice within 10 days) may touch only the administrative fields of the cited
table; everything that widens what may be done goes through committee review and a change
filing, and the compliance gate keeps judging by the version in force until the change is.
Step dates run in order (opinion ≤ submission ≤ acceptance ≤ in force) and none is in the future.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from saisei.core.errors import DomainError
from saisei.core.timezones import TOKYO
from saisei.regulatory import services
from saisei.regulatory.models import PlanTransition, today_tokyo
from saisei.regulatory.rules import MINOR_CHANGE_FIELDS, non_minor_fields, step_date_refusal
from saisei.regulatory.tests.factories import FacilityFactory, PhysicianFactory

from .conftest import TO_IN_FORCE, make_plan, plan_in_force, run

TODAY = today_tokyo()
D = dt.timedelta
NOW = dt.datetime.combine(TODAY, dt.time(10, 0), tzinfo=TOKYO)

# Every content field that could widen what the gate allows, with a wider value.
WIDENING = {
    "dose_max_cells": 900_000_000,
    "dose_min_cells": 1_000,
    "max_administrations": 50,
    "routes": ["iv", "intrathecal"],
    "target_disease": "Any neurological disease",
    "tissue": "bone marrow",
    "cell_characteristics": "Any cells",
    "cell_origin": "allogeneic",
    "cell_type": "ips",
    "cultured": False,
    "homologous_use": True,
    "eligibility_summary": "Anyone",
    "treatment_name": "Something else",
    "consent_document_versions": ["ICF 9.9"],
    "declared_risk_class": 3,
    "physicians": ["anyone"],
    "facilities": ["anywhere"],
    "committee": "another",
}


def _v(plan: Any) -> Any:
    return plan.versions.order_by("-number").first()


def _gate(registry: dict[str, Any], plan: Any, **kw: Any) -> Any:
    args = {
        "actor": None,
        "act": "administration",
        "institution": registry["institution"],
        "physician": registry["physician"],
        "patient": registry["patient"],
        "plan": plan,
        "route": "iv",
        "dose_cells": 200_000_000,
        "administration_number": 1,
        "at": NOW,
        "cell_source": "autologous",
        "facility": registry["facility"],
    }
    args.update(kw)
    return services.gate_check(**args)


def _blocking(result: Any) -> set[str]:
    return {f.rule for f in result.findings if f.severity == "block"}


def test_the_minor_list_holds_only_administrative_fields_with_a_source() -> None:
    assert set(MINOR_CHANGE_FIELDS) == {
        "administrator_name",
        "contact_person",
        "contact_phone",
        "contact_email",
    }
    for row in MINOR_CHANGE_FIELDS.values():
        assert row.source and row.label
        assert row.certain or "⚠" in row.note
    assert non_minor_fields(WIDENING) == sorted(WIDENING)


# --- minor changes -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("field", sorted(WIDENING))
def test_a_minor_change_cannot_touch_the_treatment(field: str, officer: Any, registry: Any) -> None:
    plan = plan_in_force(officer, registry)
    v = _v(plan)
    before = {f: getattr(v, f) for f in ("dose_max_cells", "routes", "target_disease")}
    with pytest.raises(DomainError) as exc:
        run(officer, v, "record_minor_change", changes={field: WIDENING[field]})
    assert exc.value.code == "plan.change_not_minor"
    assert field in exc.value.fields
    v.refresh_from_db()
    assert {f: getattr(v, f) for f in before} == before
    assert not PlanTransition.objects.filter(name="record_minor_change").exists()


@pytest.mark.django_db
def test_a_minor_change_widening_the_dose_is_refused_and_the_gate_is_unchanged(
    officer: Any, registry: Any, consent_valid: Any
) -> None:
    plan = plan_in_force(officer, registry)
    with pytest.raises(DomainError) as exc:
        run(
            officer,
            _v(plan),
            "record_minor_change",
            changes={"contact_email": "a@b.example", "dose_max_cells": 900_000_000},
        )
    assert exc.value.code == "plan.change_not_minor"
    assert set(exc.value.fields) == {"rule", "dose_max_cells"}
    assert "GATE-DOSE-OUTSIDE-PLAN" in _blocking(_gate(registry, plan, dose_cells=600_000_000))
    assert _v(plan).contact_email == ""  # nothing of the refused change was kept


@pytest.mark.django_db
def test_unknown_fields_and_bad_values_are_refused(officer: Any, registry: Any) -> None:
    v = _v(plan_in_force(officer, registry))
    with pytest.raises(DomainError) as exc:
        run(officer, v, "record_minor_change", changes={"colour": "red"})
    assert exc.value.code == "plan.unknown_fields" and "colour" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        run(officer, v, "record_minor_change", changes={"contact_email": "not an address"})
    assert exc.value.code == "plan.invalid_value" and "contact_email" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        run(officer, v, "record_minor_change", changes={})
    assert exc.value.code == "plan.minor_change_empty"


@pytest.mark.django_db
def test_api_refuses_a_widening_minor_change_with_field_errors(
    officer: Any, registry: Any, api_for: Any
) -> None:
    plan = plan_in_force(officer, registry)
    client = api_for(officer)
    path = f"/regulatory/plans/{plan.external_id}/transition"
    res = client.post(
        path, {"name": "record_minor_change", "changes": {"dose_max_cells": 900_000_000}}
    )
    assert res.status_code == 409  # unified lifecycle refusal (issue 11)
    err = res.json()["error"]
    assert err["code"] == "plan.change_not_minor" and "dose_max_cells" in err["fields"]
    assert _v(plan).dose_max_cells == 300_000_000
    res = client.post(
        path, {"name": "record_minor_change", "changes": {"contact_person": "Ms. Office"}}
    )
    assert res.status_code == 200, res.content
    assert res.json()["versions"][0]["contact_person"] == "Ms. Office"


@pytest.mark.django_db
def test_web_form_offers_only_administrative_fields_and_refuses_others(
    officer: Any, registry: Any, web_for: Any
) -> None:
    plan = plan_in_force(officer, registry)
    v = _v(plan)
    client = web_for(officer)
    page = client.get(reverse("regulatory:plan_detail", args=[plan.external_id])).content.decode()
    assert 'value="contact_email"' in page and 'value="dose_max_cells"' not in page
    url = reverse("regulatory:plan_transition", args=[plan.external_id])
    form = {"name": "record_minor_change", "version": str(v.external_id)}
    res = client.post(url, {**form, "minor_field": "dose_max_cells", "minor_value": "900000000"})
    assert res.status_code == 400
    v.refresh_from_db()
    assert v.dose_max_cells == 300_000_000
    res = client.post(url, {**form, "minor_field": "contact_email", "minor_value": "nope"})
    assert res.status_code == 400 and "valid email" in res.content.decode()
    res = client.post(url, {**form, "minor_field": "contact_email", "minor_value": "o@c.example"})
    assert res.status_code == 302
    v.refresh_from_db()
    assert v.contact_email == "o@c.example"


# --- a non-minor change pending review changes nothing the gate allows ------------------------


@pytest.mark.django_db
def test_a_pending_non_minor_change_does_not_widen_the_gate(
    officer: Any, registry: Any, consent_valid: Any, org: Any
) -> None:
    plan = plan_in_force(officer, registry, on=TODAY - D(60))
    v1 = _v(plan)
    newcomer = PhysicianFactory(organisation=org)
    v2 = run(officer, v1, "start_major_change", on=TODAY - D(30), reason="higher dose")
    services.plan_version_update(
        actor=officer,
        version=v2,
        dose_max_cells=900_000_000,
        routes=["iv", "intrathecal"],
        max_administrations=20,
        documents_complete=True,
        physicians=[registry["physician"], newcomer],
        facilities=[registry["facility"], FacilityFactory(organisation=org)],
    )

    def still_v1() -> None:
        assert "GATE-DOSE-OUTSIDE-PLAN" in _blocking(_gate(registry, plan, dose_cells=600_000_000))
        assert "GATE-ROUTE-NOT-IN-PLAN" in _blocking(_gate(registry, plan, route="intrathecal"))
        assert "GATE-PHYSICIAN-NOT-LISTED" in _blocking(_gate(registry, plan, physician=newcomer))
        assert _gate(registry, plan).allowed

    still_v1()
    for step in TO_IN_FORCE[:3]:  # review, favourable opinion, filed: not yet accepted
        run(officer, v2, step, on=TODAY - D(5))
        still_v1()
    run(officer, v2, "record_acceptance", on=TODAY - D(2))
    assert _gate(registry, plan, dose_cells=600_000_000, route="intrathecal").allowed
    assert _gate(registry, plan, physician=newcomer).allowed


# --- step dates in order, none in the future ------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("step", TO_IN_FORCE[1:])
def test_a_step_dated_before_the_step_it_follows_is_refused(
    step: str, officer: Any, registry: Any
) -> None:
    """Committee opinion ≥ review request, submission ≥ opinion, acceptance ≥ submission."""
    v = _v(make_plan(officer, registry))
    run(officer, v, *TO_IN_FORCE[: TO_IN_FORCE.index(step)], on=TODAY - D(10))
    with pytest.raises(DomainError) as exc:
        run(officer, v, step, on=TODAY - D(11))
    assert exc.value.code == "plan.step_date_out_of_order"
    assert list(exc.value.fields) == ["effective_date"]
    run(officer, v, step, on=TODAY - D(10))  # the same day is in order


@pytest.mark.django_db
def test_class_i_comes_into_force_no_earlier_than_acceptance(officer: Any, registry: Any) -> None:
    v = _v(make_plan(officer, registry, cell_origin="allogeneic"))
    run(officer, v, *TO_IN_FORCE[:3], on=TODAY - D(200))
    run(officer, v, "record_acceptance", on=TODAY - D(95))
    with pytest.raises(DomainError) as exc:
        run(officer, v, "bring_into_force", on=TODAY - D(96))
    assert exc.value.code == "plan.step_date_out_of_order"
    run(officer, v, "bring_into_force", on=TODAY - D(95))


@pytest.mark.django_db
def test_a_changed_version_cannot_be_dated_before_the_change_began(
    officer: Any, registry: Any
) -> None:
    plan = plan_in_force(officer, registry, on=TODAY - D(60))
    v2 = run(officer, _v(plan), "start_major_change", on=TODAY - D(20))
    services.plan_version_update(actor=officer, version=v2, documents_complete=True)
    with pytest.raises(DomainError) as exc:
        run(officer, v2, "submit_for_review", on=TODAY - D(21))
    assert exc.value.code == "plan.step_date_out_of_order"


@pytest.mark.django_db
def test_a_future_date_is_refused(officer: Any, registry: Any) -> None:
    v = _v(make_plan(officer, registry))
    with pytest.raises(DomainError) as exc:
        run(officer, v, "submit_for_review", on=TODAY + D(1))
    assert exc.value.code == "plan.effective_date_in_future"
    assert list(exc.value.fields) == ["effective_date"]


@pytest.mark.django_db
def test_api_and_form_refuse_steps_out_of_order_on_the_date_field(
    officer: Any, registry: Any, api_for: Any, web_for: Any
) -> None:
    plan = make_plan(officer, registry)
    v = _v(plan)
    run(officer, v, "submit_for_review", on=TODAY - D(10))
    path = f"/regulatory/plans/{plan.external_id}/transition"
    body = {"name": "record_favourable_opinion", "effective_date": (TODAY - D(12)).isoformat()}
    res = api_for(officer).post(path, body)
    assert res.status_code == 422
    err = res.json()["error"]
    assert err["code"] == "plan.step_date_out_of_order" and "effective_date" in err["fields"]
    res = api_for(officer).post(path, {**body, "effective_date": (TODAY + D(3)).isoformat()})
    assert res.json()["error"]["code"] == "plan.effective_date_in_future"
    url = reverse("regulatory:plan_transition", args=[plan.external_id])
    form = {"name": "record_favourable_opinion", "version": str(v.external_id)}
    res = web_for(officer).post(url, {**form, "effective_date": (TODAY - D(12)).isoformat()})
    assert res.status_code == 400
    assert res.context["form"].errors["effective_date"]
    assert "Send to the committee for review" in res.content.decode()  # the earlier step, by name
    v.refresh_from_db()
    assert v.state == "committee_review"


@given(
    gaps=st.lists(st.integers(min_value=-30, max_value=30), min_size=1, max_size=8),
    start=st.integers(min_value=0, max_value=400),
)
def test_step_dates_are_accepted_exactly_when_they_run_in_order_and_not_ahead(
    gaps: list[int], start: int
) -> None:
    today = dt.date(2026, 6, 1)
    day = today - D(days=start)
    previous: tuple[str, dt.date] | None = None
    for gap in gaps:
        candidate = day + D(days=gap)
        refusal = step_date_refusal(effective=candidate, today=today, previous=previous)
        in_order = previous is None or candidate >= previous[1]
        assert (refusal is None) == (in_order and candidate <= today)
        if refusal is None:
            previous, day = ("submit_for_review", candidate), candidate
