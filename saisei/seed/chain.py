"""The ledger entries a seed writes, chained in bulk with the ledger's own hash."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from saisei.core import audit
from saisei.core.models import AuditChainHead, AuditEntry, Organisation, User


@dataclass
class Draft:
    """One ledger entry as a service would have written it, before it is chained."""

    at: dt.datetime
    actor: User | None
    action: str
    subject_type: str
    subject_id: str
    changes: dict[str, Any]


def chain_append(organisation: Organisation, drafts: list[Draft]) -> int:
    """Append drafts to the organisation's chain, hashed with ``audit.compute_hash``.

    The one place the seed touches the chain: it locks the head like ``audit_record`` does, so
    writers running alongside never fork the chain. Call inside a transaction.
    """
    if not drafts:
        return 0
    key = audit.ledger_key()  # keyed like every entry a service writes today
    head, _ = AuditChainHead.objects.get_or_create(organisation=organisation)
    head = AuditChainHead.objects.select_for_update().get(pk=head.pk)
    seq, prev = head.last_seq, head.last_hash or audit.GENESIS
    entries = []
    for d in drafts:
        seq += 1
        entry = AuditEntry(
            organisation=organisation,
            seq=seq,
            at=d.at,
            actor=d.actor,
            actor_label=d.actor.username if d.actor is not None else "system",
            action=d.action,
            subject_type=d.subject_type,
            subject_id=d.subject_id,
            reason="",
            request_id="seed",
            client_ip=None,
            changes=audit._json_safe(d.changes),
            prev_hash=prev,
            scheme=audit.KEYED_PREFIX + key.key_id,
        )
        entry.entry_hash = audit.compute_hash(entry, key)
        prev = entry.entry_hash
        entries.append(entry)
    AuditEntry.objects.bulk_create(entries, batch_size=1000)
    head.last_seq, head.last_hash = seq, prev
    head.save(update_fields=["last_seq", "last_hash"])
    return len(entries)
