"""The hash-chained audit ledger: append (from services) and verify (from the CLI).

Each organisation has its own chain. An entry's hash covers its content and the previous
entry's hash, so an edited, removed or reordered entry breaks every hash after it; the chain
head row records the last sequence number and hash, so removing the newest entry is caught too.

New entries are keyed: their hash is an HMAC-SHA256 with the ledger key, which is kept outside
the database (``saisei.core.ledger_key``), so someone who can write to the database but does not
hold the key cannot recompute a rewritten chain. Entries written before keying carry the scheme
``sha256`` and still verify; once a chain holds a keyed entry, an unkeyed entry after it is a
rewrite. Checkpoints kept outside the database (``saisei.core.anchors``) catch what a chain alone
cannot show: its newest entries removed together with the head, the whole chain removed, or an
older backup restored over a newer database (decision record 0015).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from saisei.core import context
from saisei.core.errors import ValidationFailed
from saisei.core.ledger_key import LedgerKey, ledger_key
from saisei.core.models import AuditChainHead, AuditEntry, Organisation, User

GENESIS = "0" * 64
UNKEYED = "sha256"  # entries written before the ledger was keyed (decision record 0015)
KEYED_PREFIX = "hmac-sha256:"  # followed by the key id of the key that keyed the entry

# Actions that change or remove a record's meaning must say why (GMP data integrity, ALCOA+).
REASON_REQUIRED_SUFFIXES = (
    ".void",
    ".retention_void",
    ".purge",
    ".correct",
    ".entered_in_error",
    ".reprint",
    ".revoke",
)


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def _canonical(entry: AuditEntry) -> bytes:
    at = entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    payload = {
        "organisation": entry.organisation_id,
        "seq": entry.seq,
        "at": at,
        "actor": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "reason": entry.reason,
        "request_id": entry.request_id,
        "client_ip": entry.client_ip,
        "changes": entry.changes,
        "prev_hash": entry.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(entry: AuditEntry, key: LedgerKey | None = None) -> str:
    """The entry's hash under its own scheme: HMAC with ``key`` if keyed, plain SHA-256 if not."""
    if entry.scheme == UNKEYED:
        return hashlib.sha256(_canonical(entry)).hexdigest()
    return (key or ledger_key()).mac(_canonical(entry))


def is_keyed(entry: AuditEntry) -> bool:
    return entry.scheme.startswith(KEYED_PREFIX)


def _subject_parts(subject: Any) -> tuple[str, str]:
    if isinstance(subject, tuple):
        return str(subject[0]), str(subject[1])
    meta = getattr(subject, "_meta", None)
    subject_type = f"{meta.app_label}.{meta.model_name}" if meta else type(subject).__name__
    ident = getattr(subject, "external_id", None) or getattr(subject, "pk", None)
    return subject_type, str(ident)


def audit_record(
    *,
    actor: User | None,
    organisation: Organisation | None,
    action: str,
    subject: models.Model | tuple[str, str],
    changes: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEntry:
    """Append one entry to the organisation's chain; call inside the service's transaction."""
    if organisation is None:
        # Every regulated write belongs to an organisation's chain; staff without one cannot write.
        raise ValidationFailed("no_organisation", "This account belongs to no organisation.")
    if action.endswith(REASON_REQUIRED_SUFFIXES) and not reason.strip():
        raise ValidationFailed(
            "reason_required",
            "A reason is required for this action.",
            {"reason": ["A reason is required for corrections, voids and reprints."]},
        )
    # The one retention check: a void or disposal the retention table does not allow is refused.
    from saisei.core.retention import retention_guard

    retention_guard(action=action, subject=subject)
    ctx = context.current()
    subject_type, subject_id = _subject_parts(subject)
    key = ledger_key()  # no key, no write: fails closed before anything is stored
    with transaction.atomic():
        head, _ = AuditChainHead.objects.get_or_create(organisation=organisation)
        head = AuditChainHead.objects.select_for_update().get(pk=head.pk)
        entry = AuditEntry(
            organisation=organisation,
            seq=head.last_seq + 1,
            at=timezone.now(),
            actor=actor if actor is not None and actor.pk else None,
            actor_label=(actor.username if actor is not None else "system"),
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            reason=reason,
            request_id=ctx.request_id[:64],
            client_ip=ctx.client_ip,
            changes=_json_safe(changes or {}),
            prev_hash=head.last_hash or GENESIS,
            scheme=KEYED_PREFIX + key.key_id,
        )
        entry.entry_hash = compute_hash(entry, key)
        entry.save()
        head.last_seq = entry.seq
        head.last_hash = entry.entry_hash
        head.save(update_fields=["last_seq", "last_hash"])
    return entry


@dataclass(frozen=True)
class VerifyProblem:
    organisation: str
    seq: int | None
    message: str

    def __str__(self) -> str:
        where = f"entry #{self.seq}" if self.seq is not None else "chain head"
        return f"{self.organisation}: {where}: {self.message}"


class _KeyFor:
    """The ledger key, looked up once and only when a keyed entry is met."""

    def __init__(self) -> None:
        self._key: LedgerKey | None = None
        self.problem: str | None = None

    def get(self) -> LedgerKey | None:
        if self._key is None and self.problem is None:
            from saisei.core.ledger_key import ledger_key_problem

            self.problem = ledger_key_problem()
            if self.problem is None:
                self._key = ledger_key()
        return self._key


def _check_entry(
    slug: str, entry: AuditEntry, keys: _KeyFor, keyed_since: int | None
) -> VerifyProblem | None:
    if entry.scheme == UNKEYED:
        if keyed_since is not None and entry.seq >= keyed_since:
            return VerifyProblem(
                slug,
                entry.seq,
                f"entry is not keyed, but the chain is keyed from #{keyed_since} on "
                "(the chain was rewritten without the ledger key)",
            )
        return None
    if not is_keyed(entry):
        return VerifyProblem(slug, entry.seq, f"unknown hash scheme {entry.scheme!r}")
    key = keys.get()
    if key is None:
        return VerifyProblem(slug, entry.seq, f"keyed entry cannot be checked: {keys.problem}")
    kid = entry.scheme.removeprefix(KEYED_PREFIX)
    if kid != key.key_id:
        return VerifyProblem(
            slug,
            entry.seq,
            f"entry was keyed with ledger key {kid}, but this installation's key is "
            f"{key.key_id} (install the key that belongs to this database)",
        )
    return None


def _verify_chain(
    org: Organisation,
    entries: Iterable[AuditEntry],
    head: AuditChainHead | None,
    checkpoints: list[Any] | None = None,
    keys: _KeyFor | None = None,
) -> VerifyProblem | None:
    keys = keys or _KeyFor()
    checkpoints = checkpoints or []
    wanted = {c.seq for c in checkpoints}
    seen: dict[int, str] = {}
    keyed_from = [c.keyed_from for c in checkpoints if c.keyed_from]
    keyed_since: int | None = min(keyed_from) if keyed_from else None
    expected_seq = 1
    prev = GENESIS
    for entry in entries:
        if entry.seq != expected_seq:
            return VerifyProblem(
                org.slug,
                expected_seq,
                f"missing or reordered (found #{entry.seq} where #{expected_seq} was expected)",
            )
        if entry.prev_hash != prev:
            return VerifyProblem(
                org.slug,
                entry.seq,
                "previous-hash link is broken (an earlier entry was removed or reordered)",
            )
        problem = _check_entry(org.slug, entry, keys, keyed_since)
        if problem:
            return problem
        if compute_hash(entry, keys.get() if is_keyed(entry) else None) != entry.entry_hash:
            if is_keyed(entry):
                return VerifyProblem(
                    org.slug,
                    entry.seq,
                    "content does not match its keyed hash (the entry was altered, or the "
                    "chain was rewritten without the ledger key)",
                )
            return VerifyProblem(
                org.slug, entry.seq, "content does not match its hash (the entry was altered)"
            )
        if is_keyed(entry) and keyed_since is None:
            keyed_since = entry.seq
        if entry.seq in wanted:
            seen[entry.seq] = entry.entry_hash
        prev = entry.entry_hash
        expected_seq += 1
    last_seq = expected_seq - 1
    if head is not None and (head.last_seq != last_seq or (head.last_hash or GENESIS) != prev):
        return VerifyProblem(
            org.slug,
            head.last_seq,
            f"the chain ends at #{last_seq} but its head records #{head.last_seq} (newest entries were removed)",
        )
    for cp in sorted(checkpoints, key=lambda c: -c.seq):
        if cp.seq > last_seq:
            gone = "the chain has no entries" if last_seq == 0 else f"the chain ends at #{last_seq}"
            return VerifyProblem(
                org.slug,
                cp.seq,
                f"{gone}, but the checkpoint of {cp.at} ({cp.source}) recorded #{cp.seq}: "
                "entries were removed, or an older backup was restored over a newer database",
            )
        if seen.get(cp.seq) != cp.hash:
            return VerifyProblem(
                org.slug,
                cp.seq,
                f"entry differs from the checkpoint of {cp.at} ({cp.source}): the chain was "
                "rewritten since",
            )
    return None


def audit_verify(
    *, organisation: Organisation | None = None, checkpoints: Any = None
) -> list[VerifyProblem]:
    """Walk every chain (or one) and return the first problem of each broken chain.

    ``checkpoints`` is a ``saisei.core.anchors.Checkpoints`` (default: those in the configured
    anchor directory); each chain must reach and match every checkpoint of its organisation.
    """
    from saisei.core.anchors import load_checkpoints

    if checkpoints is None:
        checkpoints = load_checkpoints()
    orgs = [organisation] if organisation else list(Organisation.objects.order_by("pk"))
    heads = {h.organisation_id: h for h in AuditChainHead.objects.all()}
    keys = _KeyFor()
    problems: list[VerifyProblem] = [
        VerifyProblem("checkpoints", None, msg) for msg in checkpoints.problems
    ]
    for org in orgs:
        entries = (
            AuditEntry.objects.filter(organisation=org).order_by("seq").iterator(chunk_size=2000)
        )
        problem = _verify_chain(
            org, entries, heads.get(org.pk), checkpoints.for_org(str(org.external_id)), keys
        )
        if problem:
            problems.append(problem)
    if organisation is None:
        known = {str(o.external_id) for o in orgs}
        for org_id, slug, cp in checkpoints.orphans(known):
            problems.append(
                VerifyProblem(
                    slug,
                    None,
                    f"the checkpoint of {cp.at} ({cp.source}) names this organisation "
                    f"(id {org_id}) with #{cp.seq}, but it is no longer in the database: its "
                    "chain was deleted",
                )
            )
    return problems
