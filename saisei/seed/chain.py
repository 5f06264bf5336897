"""The ledger entries a seed writes, chained in bulk with the ledger's own hash."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from django.utils import timezone

from saisei.core import audit
from saisei.core.models import AuditChainHead, AuditEntry, Organisation, User
from saisei.seed.writer import Table, reserve_ids


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
    """Append drafts to the organisation's chain, hashed like ``audit.compute_hash``.

    The one place the seed touches the chain: it locks the head like ``audit_record`` does, so
    writers running alongside never fork the chain. Call inside a transaction. Entries are
    plain rows (no model instances): hashing reads only their attributes.
    """
    if not drafts:
        return 0
    key = audit.ledger_key()  # keyed like every entry a service writes today
    head, _ = AuditChainHead.objects.get_or_create(organisation=organisation)
    head = AuditChainHead.objects.select_for_update().get(pk=head.pk)
    seq, prev = head.last_seq, head.last_hash or audit.GENESIS
    table = Table(AuditEntry, timezone.now())
    ids = reserve_ids(table.table, len(drafts))
    scheme = audit.KEYED_PREFIX + key.key_id
    rows = []
    for pk, d in zip(ids, drafts, strict=True):
        seq += 1
        entry = SimpleNamespace(
            id=pk,
            organisation_id=organisation.pk,
            seq=seq,
            at=d.at,
            actor_id=d.actor.pk if d.actor is not None else None,
            actor_label=d.actor.username if d.actor is not None else "system",
            action=d.action,
            subject_type=d.subject_type,
            subject_id=d.subject_id,
            reason="",
            request_id="seed",
            client_ip=None,
            changes=audit._json_safe(d.changes),
            prev_hash=prev,
            scheme=scheme,
        )
        # The ledger's own canonical form and hash, read from the same attributes a saved
        # entry has, so ``saisei audit verify`` recomputes the same value.
        entry.entry_hash = prev = audit.compute_hash(entry, key)  # type: ignore[arg-type]
        rows.append(table.row_from(entry.__dict__))
    table.insert(rows)
    head.last_seq, head.last_hash = seq, prev
    head.save(update_fields=["last_seq", "last_hash"])
    return len(rows)
