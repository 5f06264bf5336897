"""Only the processing side destroys cells: each test tries to discard a dose it should not.

CPC technicians and QA discard, always with a reason; a released dose needs a second CPC or QA
person who re-enters their own password. Nurses and physicians report a bag unusable instead.
"""

from __future__ import annotations

from typing import Any

import pytest

from saisei.core.errors import Forbidden, ValidationFailed
from saisei.core.models import AuditEntry
from saisei.core.tests.esign import signing_code
from saisei.core.tests.factories import TEST_PASSWORD
from saisei.processing import services
from saisei.processing.models import Dose
from saisei.processing.tests.factories import harvest, make_lot, make_patient, released_lot


@pytest.fixture
def tech2(org: Any, make_user: Any) -> Any:
    return make_user("cpc_technician", org)


def _unreleased_dose(tech: Any, patient: Any) -> Dose:
    lot = make_lot(tech, patient)
    harvest(tech, lot)
    return services.dose_divide(actor=tech, lot=lot, bags=[{"cell_count": 1e8, "volume_ml": 50}])[0]


def test_a_dose_never_released_is_discarded_by_the_cpc_with_a_reason(
    tech: Any, patient: Any
) -> None:
    dose = _unreleased_dose(tech, patient)
    with pytest.raises(ValidationFailed) as exc:
        services.dose_discard(actor=tech, dose=dose, reason=" ")
    assert exc.value.code == "reason_required"
    services.dose_discard(actor=tech, dose=dose, reason="Bag punctured during division")
    dose.refresh_from_db()
    assert dose.status == "discarded" and dose.discard_record["second_person"] is None


@pytest.mark.parametrize("role", ["nurse", "physician", "coordinator", "compliance_officer"])
def test_clinicians_and_office_roles_cannot_discard(
    tech: Any, patient: Any, make_user: Any, org: Any, role: str
) -> None:
    dose = _unreleased_dose(tech, patient)
    with pytest.raises(Forbidden):
        services.dose_discard(actor=make_user(role, org), dose=dose, reason="x")
    dose.refresh_from_db()
    assert dose.status == "quarantine"


def test_a_released_dose_needs_a_second_cpc_or_qa_person_with_their_password(
    tech: Any, tech2: Any, qa: Any, nurse: Any, patient: Any, other_org: Any, make_user: Any
) -> None:
    lot = released_lot(tech, qa, patient)
    dose = lot.doses.first()

    def attempt(**kw: Any) -> str:
        with pytest.raises(ValidationFailed) as exc:
            services.dose_discard(actor=tech, dose=dose, reason="Expired", **kw)
        return exc.value.code

    assert attempt() == "second_person_required"
    assert attempt(second_person=tech, second_person_password=TEST_PASSWORD) == (
        "second_person_same"
    )
    assert attempt(second_person=nurse, second_person_password=TEST_PASSWORD) == (
        "second_person_not_allowed"
    )
    stranger = make_user("qa_manager", other_org)
    assert attempt(second_person=stranger, second_person_password=TEST_PASSWORD) == (
        "second_person_not_allowed"
    )
    with pytest.raises(ValidationFailed) as exc:
        services.dose_discard(
            actor=tech,
            dose=dose,
            reason="Expired",
            second_person=tech2,
            second_person_password="no",
        )
    assert "second_person_password" in exc.value.fields
    dose.refresh_from_db()
    assert dose.status == "released"
    services.dose_discard(
        actor=tech,
        dose=dose,
        reason="Expired in storage",
        second_person=qa,
        second_person_password=TEST_PASSWORD,
        second_person_otp=signing_code(qa),
    )
    dose.refresh_from_db()
    assert dose.status == "discarded"
    assert dose.discard_record["second_person"]["user"] == qa.username
    entry = AuditEntry.objects.get(action="dose.discard")
    assert entry.reason == "Expired in storage" and entry.changes["released"] is True


def test_a_held_released_dose_still_needs_the_second_person(
    tech: Any, tech2: Any, qa: Any, nurse: Any, patient: Any
) -> None:
    lot = released_lot(tech, qa, patient)
    dose = lot.doses.first()
    services.dose_report_unusable(actor=nurse, dose=dose, reason="Label smudged")
    with pytest.raises(ValidationFailed):
        services.dose_discard(actor=qa, dose=dose, reason="Unreadable label")
    services.dose_discard(
        actor=qa,
        dose=dose,
        reason="Unreadable label",
        second_person=tech2,
        second_person_password=TEST_PASSWORD,
    )
    dose.refresh_from_db()
    assert dose.status == "discarded"
    assert not dose.holds.filter(lifted_at__isnull=True).exists()


def test_the_api_discard_takes_the_second_person_by_username(
    tech: Any, tech2: Any, qa: Any, nurse: Any, patient: Any, api_for: Any
) -> None:
    lot = released_lot(tech, qa, patient)
    dose = lot.doses.first()
    url = f"/processing/doses/{dose.external_id}/discard"
    assert api_for(nurse).post(url, {"reason": "x"}).status_code == 403
    res = api_for(tech).post(url, {"reason": "x"})
    assert res.status_code == 422 and res.json()["error"]["code"] == "second_person_required"
    res = api_for(tech).post(
        url, {"reason": "x", "second_person": "nobody", "second_person_password": "p"}
    )
    assert res.status_code == 422 and res.json()["error"]["code"] == "second_person_unknown"
    res = api_for(tech).post(
        url,
        {
            "reason": "Freezer alarm: bag above -150 °C",
            "second_person": tech2.username,
            "second_person_password": TEST_PASSWORD,
        },
    )
    assert res.status_code == 200, res.content
    assert res.json()["status"] == "discarded"


def test_the_discard_form_asks_for_the_second_person(
    tech: Any, tech2: Any, qa: Any, nurse: Any, patient: Any, web_for: Any
) -> None:
    lot = released_lot(tech, qa, make_patient(patient.organisation))
    dose = lot.doses.first()
    url = f"/processing/doses/{dose.external_id}/discard/"
    assert web_for(nurse).post(url, {"reason": "x"}).status_code == 403
    client = web_for(tech)
    page = client.get(f"/processing/doses/{dose.external_id}/").content.decode()
    assert "Discard the dose" in page and tech2.username in page
    res = client.post(url, {"reason": "Expired"})
    assert res.status_code == 400
    assert "second person" in res.content.decode()
    res = client.post(
        url,
        {"reason": "Expired", "second_person": tech2.pk, "second_person_password": TEST_PASSWORD},
    )
    assert res.status_code == 302
    dose.refresh_from_db()
    assert dose.status == "discarded"
