"""The hash-chained audit ledger: append (from services) and verify (from the CLI).

Each organisation has its own chain. An entry's hash covers its content and the previous
entry's hash, so an edited, removed or reordered entry breaks every hash after it; the chain
head row records the last sequence number and hash, so removing the newest entry is caught too.
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
from saisei.core.models import AuditChainHead, AuditEntry, Organisation, User

GENESIS = "0" * 64

# Actions that change or remove a record's meaning must say why (GMP data integrity, ALCOA+).
REASON_REQUIRED_SUFFIXES = (".void", ".correct", ".entered_in_error", ".reprint", ".revoke")


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


def compute_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


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
    ctx = context.current()
    subject_type, subject_id = _subject_parts(subject)
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
        )
        entry.entry_hash = compute_hash(entry)
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


def _verify_chain(
    org: Organisation, entries: Iterable[AuditEntry], head: AuditChainHead | None
) -> VerifyProblem | None:
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
        if compute_hash(entry) != entry.entry_hash:
            return VerifyProblem(
                org.slug, entry.seq, "content does not match its hash (the entry was altered)"
            )
        prev = entry.entry_hash
        expected_seq += 1
    last_seq = expected_seq - 1
    if head is not None and (head.last_seq != last_seq or (head.last_hash or GENESIS) != prev):
        return VerifyProblem(
            org.slug,
            head.last_seq,
            f"the chain ends at #{last_seq} but its head records #{head.last_seq} (newest entries were removed)",
        )
    return None


def audit_verify(*, organisation: Organisation | None = None) -> list[VerifyProblem]:
    """Walk every chain (or one) and return the first problem of each broken chain."""
    orgs = [organisation] if organisation else list(Organisation.objects.order_by("pk"))
    heads = {h.organisation_id: h for h in AuditChainHead.objects.all()}
    problems = []
    for org in orgs:
        entries = (
            AuditEntry.objects.filter(organisation=org).order_by("seq").iterator(chunk_size=2000)
        )
        problem = _verify_chain(org, entries, heads.get(org.pk))
        if problem:
            problems.append(problem)
    return problems
