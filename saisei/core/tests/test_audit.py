"""The audit ledger is append-only and any tampering is detected by `saisei audit verify`."""

from __future__ import annotations

import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from saisei.core.audit import audit_record, audit_verify
from saisei.core.errors import ValidationFailed
from saisei.core.models import AuditEntry, HardDeleteRefused


@pytest.fixture
def ledger(org, make_user):
    actor = make_user("org_admin", org)
    for i in range(5):
        audit_record(
            actor=actor,
            organisation=org,
            action="thing.update",
            subject=("thing", f"t{i}"),
            changes={"i": i, "text": "日本語"},
        )
    return org


def test_entries_chain_by_hash(ledger):
    entries = list(AuditEntry.objects.filter(organisation=ledger).order_by("seq"))
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    for prev, cur in itertools.pairwise(entries):
        assert cur.prev_hash == prev.entry_hash
    assert audit_verify() == []


def test_verify_command_passes_on_intact_ledger(ledger, capsys):
    call_command("audit", "verify")
    assert "intact" in capsys.readouterr().out


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE core_auditentry SET reason = 'edited' WHERE seq = 3",
        "UPDATE core_auditentry SET changes = '{\"i\": 99}' WHERE seq = 2",
        "DELETE FROM core_auditentry WHERE seq = 3",
        "DELETE FROM core_auditentry WHERE seq = 5",
        "UPDATE core_auditentry SET seq = seq + 100 WHERE seq = 2",
    ],
    ids=["edit-reason", "edit-changes", "delete-middle", "delete-newest", "reorder"],
)
def test_verify_detects_tampering(ledger, tamper):
    with connection.cursor() as cur:
        cur.execute(tamper)
    problems = audit_verify()
    assert len(problems) == 1
    with pytest.raises(CommandError) as exc:
        call_command("audit", "verify")
    assert "clinic-a" in str(exc.value)


def test_verify_names_first_bad_entry(ledger):
    with connection.cursor() as cur:
        cur.execute("UPDATE core_auditentry SET action = 'x' WHERE seq = 2")
        cur.execute("UPDATE core_auditentry SET action = 'y' WHERE seq = 4")
    (problem,) = audit_verify()
    assert problem.seq == 2


def test_entries_cannot_be_changed_or_deleted_through_the_orm(ledger):
    entry = AuditEntry.objects.first()
    entry.reason = "x"
    with pytest.raises(HardDeleteRefused):
        entry.save()
    with pytest.raises(HardDeleteRefused):
        entry.delete()
    with pytest.raises(HardDeleteRefused):
        AuditEntry.objects.all().delete()


def test_void_requires_reason(org):
    with pytest.raises(ValidationFailed) as exc:
        audit_record(actor=None, organisation=org, action="dose.void", subject=("dose", "1"))
    assert exc.value.code == "reason_required"


def test_chains_are_per_organisation(org, other_org):
    audit_record(actor=None, organisation=org, action="a.b", subject=("x", "1"))
    e = audit_record(actor=None, organisation=other_org, action="a.b", subject=("x", "2"))
    assert e.seq == 1
    assert audit_verify() == []
