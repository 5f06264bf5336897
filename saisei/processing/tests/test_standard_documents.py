"""A lot records the facility's 標準書 and SOP versions in force when it starts, and is refused
when the facility has no 標準書 in effect for the plan (fail closed; issue 16)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from saisei.core.errors import ValidationFailed
from saisei.processing.models import Lot
from saisei.regulatory.models import StandardDocument

from .factories import make_donation, make_lot

pytestmark = pytest.mark.django_db


def test_lot_records_the_document_versions_in_force(tech, patient):
    donation = make_donation(tech, patient)
    sop = StandardDocument.objects.create(
        organisation=donation.organisation,
        facility=donation.facility,
        kind="sop",
        document_number="SOP-1",
        title="Culture",
        version="4",
        effective_from=timezone.localdate() - dt.timedelta(days=100),
        approved_by="QA",
    )
    StandardDocument.objects.create(  # a later version, not yet in effect when the lot starts
        organisation=donation.organisation,
        facility=donation.facility,
        kind="sop",
        document_number="SOP-1",
        title="Culture",
        version="5",
        effective_from=timezone.localdate() + dt.timedelta(days=5),
        approved_by="QA",
    )
    lot = make_lot(tech, patient, donation=donation)
    docs = set(lot.document_versions.all())
    assert sop in docs
    assert any(d.kind == "standard" and d.plan_id == donation.plan_id for d in docs)
    assert not any(d.version == "5" for d in docs)


def test_lot_refused_without_a_standard_for_the_plan(tech, patient):
    donation = make_donation(tech, patient)
    StandardDocument.objects.filter(facility=donation.facility, kind="standard").update(
        voided_at=timezone.now()
    )
    with pytest.raises(ValidationFailed) as exc:
        make_lot(tech, patient, donation=donation)
    assert exc.value.code == "standard_document_missing"
    assert not Lot.objects.filter(donation=donation).exists()


def test_lot_refused_in_the_api(tech, patient, api_for):
    donation = make_donation(tech, patient)
    StandardDocument.objects.filter(facility=donation.facility, kind="standard").update(
        effective_from=timezone.localdate() + dt.timedelta(days=30)
    )
    r = api_for(tech).post(
        "/processing/lots",
        {"donation": str(donation.external_id), "planned_doses": 2, "cells_per_dose": 1e8},
    )
    assert r.status_code == 422, r.content
    assert r.json()["error"]["code"] == "standard_document_missing"
    assert not Lot.objects.filter(donation=donation).exists()
