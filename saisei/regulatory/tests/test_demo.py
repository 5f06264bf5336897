"""The regulatory demo data tells the intended story and is idempotent."""

from __future__ import annotations

import io

import pytest

from saisei.core.demo import DEMO_USERS, DemoContext
from saisei.core.tests.factories import SiteFactory, UserFactory
from saisei.regulatory import demo
from saisei.regulatory.models import Obligation, ProvisionPlan, today_tokyo

pytestmark = pytest.mark.django_db


@pytest.fixture
def ctx(org, other_org):
    users = {
        role: UserFactory(organisation=org, roles=[role], username=role) for role in DEMO_USERS
    }
    return DemoContext(
        org=org,
        facilitator=other_org,
        clinic=SiteFactory(organisation=org, kind="medical_institution", name="Clinic"),
        cpc=SiteFactory(organisation=org, kind="cell_processing_facility", name="CPC"),
        users=users,
        today=today_tokyo(),
        stdout=io.StringIO(),
    )


def test_demo_plans_in_several_states_and_obligations_due_soon(ctx):
    demo.load(ctx)
    statuses = dict(ProvisionPlan.objects.values_list("title", "status"))
    assert statuses[demo.ALZ_TITLE] == "in_force"
    assert statuses[demo.CLASS1_TITLE] == "accepted"
    assert statuses[demo.KNEE_TITLE] == "discontinued"
    alz = ctx.extra["plan_alz"]
    v = alz.versions.get(number=1)
    assert v.routes == ["iv"] and v.dose_min_cells == 100_000_000 and v.declared_risk_class == 2
    assert ctx.extra["physician"] in v.physicians.all()
    assert ctx.extra["facility"] in v.facilities.all()
    assert Obligation.objects.overdue().count() == 1
    assert Obligation.objects.due_within(30).count() >= 2
    knee = ctx.extra["plan_discontinued"]
    assert Obligation.objects.open().filter(plan=knee, rule_id="PERIODIC-REPORT").exists()


def test_demo_runs_twice_without_duplicates(ctx):
    demo.load(ctx)
    counts = (ProvisionPlan.objects.count(), Obligation.objects.count())
    demo.load(ctx)
    assert (ProvisionPlan.objects.count(), Obligation.objects.count()) == counts
