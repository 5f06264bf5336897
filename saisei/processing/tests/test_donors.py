"""Donors for allogeneic plans: kept apart from the recipient, and no harvest without an eligible,
consented donor (API and form); an autologous plan refuses a donor."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from saisei.processing import services
from saisei.processing.donor_rules import donor_criteria
from saisei.processing.models import Donation, DonorLink
from saisei.processing.tests.factories import consent_to, plan_world
from saisei.processing.tests.test_harvest_gate import body, form

pytestmark = pytest.mark.django_db


@pytest.fixture
def allo(org: Any, patient: Any) -> Any:
    world = plan_world(org, cell_origin="allogeneic")
    consent_to(world, patient)
    return world


def _donor(world: Any, user: Any, *, screened: bool = True, consented: bool = True) -> Any:
    donor = services.donor_register(
        actor=user,
        plan=world.plan,
        family_name="Suzuki",
        given_name="Hanako",
        birth_date=dt.date(1990, 4, 1),
    )
    if screened:
        donor = services.donor_screening_record(
            actor=user, donor=donor, results={c.code: "pass" for c in donor_criteria()}
        )
    if consented:
        donor = services.donor_consent_record(
            actor=user, donor=donor, signed_at=timezone.now(), form_version="DC-1"
        )
    return donor


def test_an_eligible_consented_donor_gives_an_allogeneic_harvest(
    api_for: Any, make_user: Any, org: Any, allo: Any, patient: Any, physician: Any
) -> None:
    donor = _donor(allo, physician)
    res = api_for(make_user("nurse", org)).post(
        "/processing/donations",
        body(allo, patient, cell_source="allogeneic", donor=str(donor.external_id)),
    )
    assert res.status_code == 201, res.content
    link = DonorLink.objects.get()
    assert link.donor == donor and link.din == res.json()["din"]
    # The recipient-side donation payload never names the donor.
    assert "Suzuki" not in res.content.decode() and "donor" not in res.json()


@pytest.mark.parametrize(
    ("screened", "consented", "code"),
    [(False, True, "donor_ineligible"), (True, False, "donor_ineligible")],
)
def test_an_ineligible_or_unconsented_donor_is_refused_through_the_api(
    api_for: Any,
    make_user: Any,
    org: Any,
    allo: Any,
    patient: Any,
    physician: Any,
    screened: bool,
    consented: bool,
    code: str,
) -> None:
    donor = _donor(allo, physician, screened=screened, consented=consented)
    res = api_for(make_user("nurse", org)).post(
        "/processing/donations",
        body(allo, patient, cell_source="allogeneic", donor=str(donor.external_id)),
    )
    assert res.status_code == 422, res.content
    assert res.json()["error"]["code"] == code
    assert "donor" in res.json()["error"]["fields"]
    assert not Donation.objects.exists()


def test_a_failed_screening_answer_is_refused(
    api_for: Any, make_user: Any, org: Any, allo: Any, patient: Any, physician: Any
) -> None:
    donor = _donor(allo, physician)
    services.donor_screening_record(actor=physician, donor=donor, results={"hbs_ag": "fail"})
    res = api_for(make_user("nurse", org)).post(
        "/processing/donations",
        body(allo, patient, cell_source="allogeneic", donor=str(donor.external_id)),
    )
    assert res.status_code == 422 and res.json()["error"]["code"] == "donor_ineligible"


def test_an_allogeneic_harvest_without_a_donor_is_refused(
    api_for: Any, make_user: Any, org: Any, allo: Any, patient: Any
) -> None:
    res = api_for(make_user("nurse", org)).post(
        "/processing/donations", body(allo, patient, cell_source="allogeneic")
    )
    assert res.status_code == 422 and res.json()["error"]["code"] == "donor_required"
    assert not Donation.objects.exists()


def test_an_autologous_plan_refuses_a_donor(
    api_for: Any, make_user: Any, org: Any, allo: Any, patient: Any, physician: Any
) -> None:
    donor = _donor(allo, physician)
    auto = plan_world(org)
    consent_to(auto, patient)
    res = api_for(make_user("nurse", org)).post(
        "/processing/donations", body(auto, patient, donor=str(donor.external_id))
    )
    assert res.status_code == 422 and res.json()["error"]["code"] == "donor_not_allowed"


def test_the_form_shows_an_unconsented_donor_as_a_form_error(
    web_for: Any, make_user: Any, org: Any, allo: Any, patient: Any, physician: Any
) -> None:
    donor = _donor(allo, physician, consented=False)
    res = web_for(make_user("nurse", org)).post(
        "/processing/donations/new/", form(allo, patient, cell_source="allogeneic", donor=donor.pk)
    )
    assert res.status_code == 400
    assert "written consent is not on record" in res.content.decode()
    assert not Donation.objects.exists()


@pytest.mark.parametrize("role", ["nurse", "coordinator", "compliance_officer", "org_admin"])
def test_roles_outside_the_donor_team_cannot_read_donors(
    api_for: Any, make_user: Any, org: Any, allo: Any, physician: Any, role: str
) -> None:
    donor = _donor(allo, physician)
    client = api_for(make_user(role, org))
    assert client.get("/processing/donors").status_code == 403
    assert client.get(f"/processing/donors/{donor.external_id}").status_code == 403


@pytest.mark.parametrize("role", ["nurse", "qa_manager"])
def test_only_the_physician_and_cpc_screen(
    api_for: Any, make_user: Any, org: Any, allo: Any, physician: Any, role: str
) -> None:
    donor = _donor(allo, physician, screened=False)
    res = api_for(make_user(role, org)).post(
        f"/processing/donors/{donor.external_id}/screening", {"results": {"hiv_ab": "pass"}}
    )
    assert res.status_code == 403


def test_qa_reads_donors_and_another_org_gets_404(
    api_for: Any, make_user: Any, org: Any, other_org: Any, allo: Any, physician: Any
) -> None:
    donor = _donor(allo, physician)
    res = api_for(make_user("qa_manager", org)).get(f"/processing/donors/{donor.external_id}")
    assert res.status_code == 200 and res.json()["eligible"] is True
    res = api_for(make_user("qa_manager", other_org)).get(f"/processing/donors/{donor.external_id}")
    assert res.status_code == 404


def test_recipient_views_never_show_the_donor(
    api_for: Any, web_for: Any, make_user: Any, org: Any, allo: Any, patient: Any, physician: Any
) -> None:
    donor = _donor(allo, physician)
    res = api_for(make_user("nurse", org)).post(
        "/processing/donations",
        body(allo, patient, cell_source="allogeneic", donor=str(donor.external_id)),
    )
    donation = Donation.objects.get(din=res.json()["din"])
    admin = make_user("org_admin", org)
    pages = [
        web_for(physician).get(f"/processing/donations/{donation.external_id}/"),
        web_for(admin).get(f"/journey/patients/{patient.external_id}/"),
        api_for(admin).get(f"/processing/donations/{donation.external_id}"),
        api_for(admin).get(f"/fhir/R4/Patient/{patient.external_id}/$everything"),
    ]
    for page in pages:
        text = page.content.decode()
        assert page.status_code in (200, 403, 404), (page.status_code, text[:300])
        assert "Suzuki" not in text and "Hanako" not in text and donor.donor_code not in text


def test_donor_pages_for_the_team_and_refused_for_others(
    web_for: Any, make_user: Any, org: Any, allo: Any, physician: Any
) -> None:
    donor = _donor(allo, physician, consented=False)
    page = web_for(physician).get(f"/processing/donors/{donor.external_id}/")
    assert page.status_code == 200 and "Suzuki" in page.content.decode()
    res = web_for(physician).post(
        f"/processing/donors/{donor.external_id}/",
        {"act": "consent", "signed_at": "2026-01-05T10:00", "form_version": "DC-1"},
    )
    assert res.status_code == 302
    donor.refresh_from_db()
    assert donor.consent_signed_at is not None
    assert web_for(physician).get("/processing/donors/").status_code == 200
    for role in ("nurse", "coordinator", "org_admin"):
        client = web_for(make_user(role, org))
        assert client.get("/processing/donors/").status_code == 403
        assert client.get(f"/processing/donors/{donor.external_id}/").status_code == 403
