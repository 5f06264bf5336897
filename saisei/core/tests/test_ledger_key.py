"""A ledger an insider cannot quietly rewrite: keyed entries, signed checkpoints outside the
database, and each attack of issue 14 performed with raw SQL and caught by `saisei audit verify`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from saisei.core import apps as core_apps
from saisei.core.anchors import FILE_NAME, load_checkpoints
from saisei.core.audit import GENESIS, _canonical, audit_record, audit_verify
from saisei.core.ledger_key import ledger_key
from saisei.core.models import AuditChainHead, AuditEntry, Organisation
from saisei.core.registry import daily_jobs


def _write(org: Organisation, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        audit_record(actor=None, organisation=org, action="thing.update", subject=("thing", str(i)))


@pytest.fixture
def ledger(org: Organisation) -> Organisation:
    _write(org, 5)
    return org


def _anchor(**kw: Any) -> str:
    call_command("audit", "anchor", "--no-email", **kw)
    return (Path(kw.get("out") or _anchor_dir()) / FILE_NAME).read_text()


def _anchor_dir() -> Path:
    from django.conf import settings

    return Path(settings.SAISEI_ANCHOR_DIR)


def _verify_fails(*needles: str) -> str:
    problems = audit_verify()
    assert problems, "verify should have failed"
    with pytest.raises(CommandError) as exc:
        call_command("audit", "verify")
    assert exc.value.returncode == 1
    text = " ".join(str(p) for p in problems)
    for needle in needles:
        assert needle in text, text
    return text


def _sql(*statements: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cur:
        for s in statements:
            cur.execute(s, params or [])


# --- keyed entries ---------------------------------------------------------------------------


def test_new_entries_are_keyed_with_the_ledger_key(ledger: Organisation) -> None:
    key = ledger_key()
    entry = AuditEntry.objects.get(organisation=ledger, seq=3)
    assert entry.scheme == f"hmac-sha256:{key.key_id}"
    assert entry.entry_hash == key.mac(_canonical(entry))
    assert entry.entry_hash != hashlib.sha256(_canonical(entry)).hexdigest()


def _legacy_chain(org: Organisation, n: int) -> None:
    """Entries as written before keying: plain SHA-256, scheme 'sha256'."""
    prev = GENESIS
    for seq in range(1, n + 1):
        entry = AuditEntry(
            organisation=org,
            seq=seq,
            actor_label="system",
            action="old.write",
            subject_type="thing",
            subject_id=str(seq),
            prev_hash=prev,
            scheme="sha256",
        )
        entry.entry_hash = hashlib.sha256(_canonical(entry)).hexdigest()
        entry.save()
        prev = entry.entry_hash
    AuditChainHead.objects.create(organisation=org, last_seq=n, last_hash=prev)


def test_a_chain_begun_before_keying_still_verifies_and_continues_keyed(org: Any) -> None:
    _legacy_chain(org, 3)
    _write(org, 2)
    schemes = list(AuditEntry.objects.filter(organisation=org).values_list("scheme", flat=True))
    assert schemes[:3] == ["sha256"] * 3
    assert all(s.startswith("hmac-sha256:") for s in schemes[3:])
    assert audit_verify() == []
    _anchor()
    assert audit_verify() == []


def test_an_unkeyed_entry_after_keyed_ones_is_a_rewrite(org: Any) -> None:
    _legacy_chain(org, 2)
    _write(org, 3)  # #3..#5 keyed
    # Downgrade #5 to the unkeyed scheme and recompute it as SHA-256 (no key needed for that).
    entry = AuditEntry.objects.get(organisation=org, seq=5)
    entry.scheme = "sha256"
    forged = hashlib.sha256(_canonical(entry)).hexdigest()
    _sql(
        "UPDATE core_auditentry SET scheme = 'sha256', entry_hash = %s WHERE seq = 5",
        params=[forged],
    )
    _sql("UPDATE core_auditchainhead SET last_hash = %s", params=[forged])
    _verify_fails("entry #5", "not keyed", "keyed from #3")


def test_production_refuses_to_write_without_a_key(org: Any, settings: Any, tmp_path: Path) -> None:
    settings.PRODUCTION = True
    settings.SAISEI_LEDGER_KEY = ""
    settings.SAISEI_LEDGER_KEY_FILE = tmp_path / "ledger.key"
    with pytest.raises(ImproperlyConfigured, match="no ledger key"):
        audit_record(actor=None, organisation=org, action="a.b", subject=("x", "1"))
    assert not AuditEntry.objects.exists()
    assert not (tmp_path / "ledger.key").exists()
    (error,) = core_apps.ledger_key_check()
    assert error.id == "saisei.E001"
    # A key file others can read is refused too; a short key as well.
    (tmp_path / "ledger.key").write_text("x" * 64)
    (tmp_path / "ledger.key").chmod(0o644)
    with pytest.raises(ImproperlyConfigured, match="chmod 600"):
        ledger_key()
    (tmp_path / "ledger.key").chmod(0o600)
    assert ledger_key().secret == b"x" * 64
    assert core_apps.ledger_key_check() == []
    settings.SAISEI_LEDGER_KEY = "short"
    with pytest.raises(ImproperlyConfigured, match="at least 32"):
        ledger_key()


def test_outside_production_the_key_file_is_created_once_for_its_owner_only(
    settings: Any, tmp_path: Path
) -> None:
    settings.SAISEI_LEDGER_KEY = ""
    settings.SAISEI_LEDGER_KEY_FILE = tmp_path / "var" / "ledger.key"
    first = ledger_key()
    path = tmp_path / "var" / "ledger.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(first.secret) == 64
    assert core_apps.ledger_key_check() == []  # not production: no start-up refusal


def test_an_entry_keyed_with_another_key_names_both_keys(
    ledger: Organisation, settings: Any
) -> None:
    old = ledger_key().key_id
    settings.SAISEI_LEDGER_KEY = "another-ledger-key-" + "z" * 40
    _verify_fails(f"ledger key {old}", ledger_key().key_id)


# --- checkpoints -----------------------------------------------------------------------------


def test_anchor_writes_a_signed_line_per_chain_and_verify_uses_it(
    ledger: Organisation, other_org: Organisation, capsys: Any
) -> None:
    _write(other_org, 2)
    text = _anchor()
    lines = [json.loads(x) for x in text.splitlines()]
    assert {(r["organisation"], r["seq"]) for r in lines} == {("clinic-a", 5), ("clinic-b", 2)}
    assert all(r["mac"] and r["key_id"] == ledger_key().key_id for r in lines)
    head = AuditChainHead.objects.get(organisation=ledger)
    assert next(r for r in lines if r["organisation"] == "clinic-a")["hash"] == head.last_hash
    # Anchoring appends; the file keeps every checkpoint.
    _write(ledger, 1, start=5)
    assert len(_anchor().splitlines()) == 4
    assert len(load_checkpoints()) == 4
    capsys.readouterr()
    call_command("audit", "verify")
    assert "against 4 checkpoints" in capsys.readouterr().out


def test_anchor_e_mails_each_organisations_compliance_officers_their_line(
    ledger: Organisation, other_org: Organisation, make_user: Any, settings: Any, tmp_path: Path
) -> None:
    _write(other_org, 1)
    officer = make_user("compliance_officer", ledger, email="officer@a.example")
    make_user("compliance_officer", other_org, email="officer@b.example")
    make_user("nurse", ledger, email="nurse@a.example")
    settings.SAISEI_ANCHOR_EMAIL = True
    call_command("audit", "anchor", "--out", str(tmp_path / "elsewhere"))
    assert sorted(m.to[0] for m in mail.outbox) == ["officer@a.example", "officer@b.example"]
    to_a = next(m for m in mail.outbox if m.to == [officer.email])
    assert "clinic-a #5" in to_a.subject and "clinic-b" not in to_a.body
    # The e-mailed line is itself a checkpoint: saved to a file, verify accepts and uses it.
    line = to_a.body.strip().splitlines()[-1]
    saved = tmp_path / "saved-from-mail.jsonl"
    saved.write_text(line + "\n")
    assert len(load_checkpoints([saved])) == 1
    # Configured off, no mail is sent.
    mail.outbox.clear()
    settings.SAISEI_ANCHOR_EMAIL = False
    call_command("audit", "anchor")
    assert mail.outbox == []


def test_an_altered_checkpoint_is_reported_not_trusted(ledger: Organisation) -> None:
    text = _anchor()
    record = json.loads(text)
    record["seq"] = 3  # "the chain only ever had three entries"
    (_anchor_dir() / FILE_NAME).write_text(json.dumps(record) + "\n")
    _verify_fails("signature does not match")


def test_daily_anchors_the_ledger(ledger: Organisation) -> None:
    assert "core-anchor" in [j.key for j in daily_jobs()]
    call_command("daily")
    assert (_anchor_dir() / FILE_NAME).read_text().count("\n") == 1


# --- the attacks (issue 14): each performed with raw SQL and detected ------------------------


def test_attack_deleting_the_newest_entries_and_fixing_the_head(ledger: Organisation) -> None:
    _anchor()
    keep = AuditEntry.objects.get(organisation=ledger, seq=3).entry_hash
    _sql("DELETE FROM core_auditentry WHERE seq > 3")
    _sql("UPDATE core_auditchainhead SET last_seq = 3, last_hash = %s", params=[keep])
    _verify_fails("clinic-a", "the chain ends at #3", "recorded #5", "entries were removed")


def test_attack_rewriting_the_whole_chain_without_the_key(ledger: Organisation) -> None:
    _anchor()
    # The insider edits #2 and recomputes every hash from there on with SHA-256, as the old
    # unkeyed ledger allowed, keeping the keyed scheme label.
    prev = AuditEntry.objects.get(organisation=ledger, seq=1).entry_hash
    for seq in range(2, 6):
        e = AuditEntry.objects.get(organisation=ledger, seq=seq)
        e.prev_hash = prev
        if seq == 2:
            e.reason = "nothing happened here"
        new = hashlib.sha256(_canonical(e)).hexdigest()
        _sql(
            "UPDATE core_auditentry SET reason = %s, prev_hash = %s, entry_hash = %s WHERE seq = %s",
            params=[e.reason, prev, new, seq],
        )
        prev = new
    _sql("UPDATE core_auditchainhead SET last_hash = %s", params=[prev])
    _verify_fails("entry #2", "keyed hash", "without the ledger key")


def test_attack_rewriting_the_whole_chain_as_unkeyed(ledger: Organisation) -> None:
    _anchor()
    # A thorough insider relabels every entry as pre-keying and makes a flawless SHA-256 chain.
    prev = GENESIS
    for seq in range(1, 6):
        e = AuditEntry.objects.get(organisation=ledger, seq=seq)
        e.prev_hash, e.scheme = prev, "sha256"
        new = hashlib.sha256(_canonical(e)).hexdigest()
        _sql(
            "UPDATE core_auditentry SET scheme = 'sha256', prev_hash = %s, entry_hash = %s "
            "WHERE seq = %s",
            params=[prev, new, seq],
        )
        prev = new
    _sql("UPDATE core_auditchainhead SET last_hash = %s", params=[prev])
    _verify_fails("entry #1", "not keyed", "keyed from #1")


def test_attack_deleting_an_organisations_chain(
    ledger: Organisation, other_org: Organisation
) -> None:
    _write(other_org, 2)
    _anchor()
    _sql(
        "DELETE FROM core_auditentry WHERE organisation_id = %s",
        "DELETE FROM core_auditchainhead WHERE organisation_id = %s",
        params=[ledger.pk],
    )
    text = _verify_fails("clinic-a", "the chain has no entries", "recorded #5")
    assert "clinic-b" not in text


def test_attack_deleting_the_organisation_with_its_chain(
    ledger: Organisation, other_org: Organisation
) -> None:
    _write(other_org, 2)
    _anchor()
    _sql(
        "DELETE FROM core_auditentry WHERE organisation_id = %s",
        "DELETE FROM core_auditchainhead WHERE organisation_id = %s",
        "DELETE FROM core_organisation WHERE id = %s",
        params=[ledger.pk],
    )
    _verify_fails("clinic-a", "no longer in the database", "chain was deleted")


def test_attack_restoring_an_older_state_over_a_newer_one(ledger: Organisation) -> None:
    # What an older backup restored over the database looks like to the ledger: a shorter,
    # internally consistent chain (the end-to-end version with real archives: test_backup.py).
    head = AuditChainHead.objects.get(organisation=ledger)
    older = (head.last_seq, head.last_hash)
    _write(ledger, 3, start=5)
    _anchor()
    _sql("DELETE FROM core_auditentry WHERE seq > %s", params=[older[0]])
    _sql("UPDATE core_auditchainhead SET last_seq = %s, last_hash = %s", params=list(older))
    _verify_fails("the chain ends at #5", "recorded #8", "older backup was restored")
