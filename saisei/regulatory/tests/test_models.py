"""The database itself refuses what the regulatory rules forbid (constraints, no deletes)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from saisei.core.models import HardDeleteRefused
from saisei.regulatory.models import Obligation

from .factories import ObligationFactory, PlanFactory, VersionFactory

pytestmark = pytest.mark.django_db


def test_obligations_are_never_deleted(org):
    ob = ObligationFactory(plan=PlanFactory(organisation=org))
    with pytest.raises(HardDeleteRefused):
        ob.delete()
    with pytest.raises(HardDeleteRefused):
        Obligation.objects.filter(pk=ob.pk).delete()


def test_open_obligation_past_due_reads_as_overdue_and_done_never_does(org):
    ob = ObligationFactory(plan=PlanFactory(organisation=org), due_date=dt.date(2026, 3, 1))
    assert ob.effective_status(dt.date(2026, 3, 1)) == "open"
    assert ob.effective_status(dt.date(2026, 3, 2)) == "overdue"
    assert list(Obligation.objects.overdue(dt.date(2026, 3, 2))) == [ob]
    assert list(Obligation.objects.due_within(30, dt.date(2026, 2, 1))) == [ob]


def test_done_obligation_needs_a_submission_date(org):
    ob = ObligationFactory(plan=PlanFactory(organisation=org))
    ob.status = Obligation.Status.DONE
    with pytest.raises(IntegrityError), transaction.atomic():
        ob.save()


def test_plan_dose_range_must_be_ordered(org):
    plan = PlanFactory(organisation=org)
    with pytest.raises(IntegrityError), transaction.atomic():
        VersionFactory(plan=plan, dose_min_cells=3, dose_max_cells=2)


def test_version_numbers_are_unique_within_a_plan(org):
    plan = PlanFactory(organisation=org)
    VersionFactory(plan=plan, number=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        VersionFactory(plan=plan, number=1)
