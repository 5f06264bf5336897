"""The lot and dose lifecycles as declared tables, and the positive-culture follow-up screens."""

from __future__ import annotations

from typing import Any

import pytest

from saisei.core.tests.esign import signed
from saisei.core.workflow import Lifecycle
from saisei.processing import services, specs
from saisei.processing.lifecycles import DEVIATION, DOSE, LOT
from saisei.processing.tests.factories import give, harvest, make_lot, record_all


@pytest.mark.parametrize("table", [LOT, DOSE, DEVIATION])
def test_every_transition_names_a_documented_guard_and_real_states(table: Lifecycle) -> None:
    statuses = {value for value, _label in table.states}
    for t in table.transitions:
        assert t.guard.__doc__, t.name
        assert t.sources <= statuses and t.target in statuses, t.name


def test_administered_and_discarded_doses_are_final() -> None:
    for final in ("administered", "discarded", "recalled"):
        assert not [t for t in DOSE.transitions if final in t.sources]


def test_rejected_lots_are_final() -> None:
    assert not [t for t in LOT.transitions if "rejected" in t.sources]


@pytest.mark.django_db
def test_positive_culture_follow_up_through_api_and_web(
    tech: Any, qa: Any, nurse: Any, physician: Any, patient: Any, api_for: Any, web_for: Any
) -> None:
    lot = make_lot(tech, patient, allow_conditional_release=True)
    harvest(tech, lot)
    services.dose_divide(actor=tech, lot=lot, bags=[{"cell_count": 1e8, "volume_ml": 50}] * 2)
    services.lot_submit_qc(actor=tech, lot=lot)
    record_all(tech, lot, pending=(specs.STERILITY,))
    services.lot_release(
        actor=qa,
        lot=lot,
        **signed(qa),
        meaning="release",
        conditional=True,
        justification="fresh",
    )
    given = lot.doses.order_by("sequence").first()
    services.dose_thaw(actor=nurse, dose=given, viability_pct=90)
    ref = give(given, nurse=nurse).administration_ref
    services.qc_result_record(actor=tech, lot=lot, test_code=specs.STERILITY, value="growth")

    api = api_for(physician)
    alerts = api.get("/processing/culture-alerts").json()
    assert alerts["count"] == 1
    alert = alerts["items"][0]
    assert alert["doses_given"][0]["administration_ref"] == ref
    res = api.post(
        f"/processing/culture-alerts/{alert['external_id']}/follow-up", {"follow_up": ""}
    )
    assert res.status_code == 422
    res = api.post(
        f"/processing/culture-alerts/{alert['external_id']}/follow-up",
        {"follow_up": "Patient called; afebrile; blood cultures taken."},
    )
    assert res.status_code == 200 and res.json()["follow_up"].startswith("Patient called")

    page = web_for(qa).get(f"/processing/lots/{lot.external_id}/").content.decode()
    assert "Sterility culture positive after release" in page
    res = web_for(qa).post(
        f"/processing/culture-alerts/{alert['external_id']}/follow-up/",
        {"follow_up": "Second call: well."},
    )
    assert res.status_code == 302
    assert lot.culture_alerts.get().follow_up == "Second call: well."
