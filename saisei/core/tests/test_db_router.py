"""The optional read replica: reports and exports read from it, everything else from the primary."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connections

from saisei.core.db_router import REPLICA, ReplicaRouter, replica_reads
from saisei.core.models import AuditEntry, User
from saisei.outcomes.models import Assessment

# As if DATABASE_REPLICA_URL were set (overriding DATABASES itself would reconnect the tests).
WITH_REPLICA = mock.patch("saisei.core.db_router.replica_configured", new=lambda: True)


def test_without_a_replica_everything_reads_the_primary() -> None:
    router = ReplicaRouter()
    with replica_reads():
        assert router.db_for_read(User) is None
        assert User.objects.all().db == "default"


@WITH_REPLICA
def test_report_and_export_reads_go_to_the_replica() -> None:
    router = ReplicaRouter()
    assert router.db_for_read(AuditEntry) is None  # outside a report: the primary
    with replica_reads():
        assert router.db_for_read(AuditEntry) == REPLICA
        assert Assessment.objects.all().db == REPLICA
    assert router.db_for_read(AuditEntry) is None  # the context ends with the block


@WITH_REPLICA
def test_writes_and_reads_inside_a_transaction_stay_on_the_primary() -> None:
    router = ReplicaRouter()
    with replica_reads():
        assert router.db_for_write(AuditEntry) == "default"
        with mock.patch.object(connections["default"], "in_atomic_block", True):
            assert router.db_for_read(AuditEntry) is None


def test_migrations_run_on_the_primary_only() -> None:
    router = ReplicaRouter()
    assert router.allow_migrate("default", "core") is True
    assert router.allow_migrate(REPLICA, "core") is False


@pytest.mark.django_db
@WITH_REPLICA
def test_periodic_report_assembly_reads_inside_the_replica_context() -> None:
    """The report's data is gathered under replica_reads (so a replica serves it when set)."""
    from saisei.regulatory.services import reports

    seen: list[bool] = []

    def fake_assemble(**kwargs: object) -> dict:
        from saisei.core import db_router

        seen.append(db_router._replica_reads.get())
        raise RuntimeError("stop after the read")

    with (
        mock.patch("saisei.regulatory.reports.assemble_data", fake_assemble),
        mock.patch.object(reports, "_require"),
        mock.patch.object(reports.Obligation.objects, "filter") as obligations,
        mock.patch.object(reports.PeriodicReport.objects, "filter") as existing,
        pytest.raises(RuntimeError),
    ):
        existing.return_value.first.return_value = None
        reports.periodic_report_assemble(actor=mock.Mock(), plan=mock.Mock(), period_index=1)
    assert obligations.called
    assert seen == [True]
