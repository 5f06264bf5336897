"""Two people recording the same step at once: the plan lock lets exactly one through."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from saisei.core.errors import DomainError
from saisei.regulatory import services
from saisei.regulatory.models import PlanTransition, PlanVersion

from .conftest import plan_in_force


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_suspensions_record_one_step(officer, registry):
    plan = plan_in_force(officer, registry)
    version_pk = plan.versions.get().pk
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def suspend() -> None:
        try:
            version = PlanVersion.objects.select_related("plan").get(pk=version_pk)
            barrier.wait()
            services.plan_transition(actor=officer, version=version, name="suspend")
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=suspend) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["invalid_transition", "ok"]
    assert PlanTransition.objects.filter(plan=plan, name="suspend").count() == 1
