"""Bedside rules without a database: each rule refuses exactly the mix-ups it names."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from saisei.treatment.rules import (
    BEDSIDE_RULES,
    BedsideFacts,
    DoseFacts,
    StepFacts,
    check_matches_course_step,
    check_same_patient,
    check_within_use_by,
    evaluate_bedside,
)

NOW = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)


def dose(**kw) -> DoseFacts:
    base = {
        "id": 1,
        "label": "A999926000001 S12341A0",
        "patient_id": 1,
        "donation_patient_id": 1,
        "coi": "CHA999926000001",
        "donation_coi": "CHA999926000001",
        "course_id": 7,
        "status": "thawed",
        "lot_status": "released",
        "lot_number": "L1",
        "lot_route": "iv",
        "sequence": 1,
        "cell_count": 2e8,
        "thawed_at": NOW - dt.timedelta(minutes=30),
        "use_by": NOW + dt.timedelta(hours=3),
        "expires_at": None,
        "administered": False,
    }
    base.update(kw)
    return DoseFacts(**base)


def step(**kw) -> StepFacts:
    base = {
        "id": 1,
        "kind": "infusion",
        "number": 1,
        "status": "scheduled",
        "route": "iv",
        "planned_dose_cells": 200_000_000,
        "patient_id": 1,
        "course_id": 7,
        "course_coi": "CHA999926000001",
    }
    base.update(kw)
    return StepFacts(**base)


def facts(**kw) -> BedsideFacts:
    base = {
        "at": NOW,
        "route": "iv",
        "patient_id": 1,
        "patient_label": "P1",
        "wristband_coi": None,
        "doses": (dose(),),
        "unresolved_scans": (),
        "step": step(),
        "gate_allowed": True,
    }
    base.update(kw)
    return BedsideFacts(**base)


def test_the_right_bag_passes_every_rule_and_every_rule_has_a_source():
    assert all(r.passed for r in evaluate_bedside(facts()))
    assert all(rule.source for rule in BEDSIDE_RULES)
    assert len({rule.code for rule in BEDSIDE_RULES}) == len(BEDSIDE_RULES)


ids = st.integers(min_value=1, max_value=4)


@settings(max_examples=300)
@given(wrist=ids, dose_patient=ids, donation_patient=ids, step_patient=ids)
def test_same_patient_passes_only_when_every_link_names_one_patient(
    wrist, dose_patient, donation_patient, step_patient
):
    f = facts(
        patient_id=wrist,
        doses=(dose(patient_id=dose_patient, donation_patient_id=donation_patient),),
        step=step(patient_id=step_patient),
    )
    same = wrist == dose_patient == donation_patient == step_patient
    assert check_same_patient(f).passed is same


@settings(max_examples=300)
@given(minutes=st.integers(min_value=-600, max_value=600))
def test_use_by_passes_only_until_the_use_by_time(minutes):
    f = facts(doses=(dose(use_by=NOW + dt.timedelta(minutes=minutes)),))
    assert check_within_use_by(f).passed is (minutes >= 0)


@settings(max_examples=200)
@given(cells=st.floats(min_value=1e7, max_value=1e9), sequence=st.integers(1, 4))
def test_the_bag_must_be_this_infusions_number_and_dose(cells, sequence):
    f = facts(doses=(dose(cell_count=cells, sequence=sequence),))
    within = abs(cells - 2e8) / 2e8 <= 0.10
    assert check_matches_course_step(f).passed is (within and sequence == 1)


def test_a_wristband_coi_of_another_donation_is_refused():
    f = facts(wristband_coi="CHA999926000002")
    assert not check_same_patient(f).passed


def test_the_gate_refusal_explains_itself():
    results = evaluate_bedside(facts(gate_allowed=False, gate_messages=("Consent is withdrawn.",)))
    gate = next(r for r in results if r.code == "compliance_gate")
    assert not gate.passed and "withdrawn" in gate.message
