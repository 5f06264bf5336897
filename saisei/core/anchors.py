"""Checkpoints of the audit ledger kept outside the database (decision record 0015).

``anchor_create`` records the head (sequence and hash) of every organisation's chain as one JSON
line per chain, signed with the ledger key (HMAC-SHA256), appended to ``anchors.jsonl`` in the
anchor directory and e-mailed to the organisation's compliance officers. ``audit_verify`` then
requires each chain to reach every checkpoint and to hold the recorded hash at its sequence.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Min
from django.utils import translation
from django.utils.translation import gettext as _

from saisei.core.ledger_key import LedgerKey, ledger_key, ledger_key_problem
from saisei.core.models import AuditChainHead, AuditEntry, Role, User

FORMAT = "saisei-anchor/1"
FILE_NAME = "anchors.jsonl"
SIGNED_FIELDS = (
    "format",
    "anchor",
    "at",
    "organisation",
    "organisation_id",
    "seq",
    "hash",
    "keyed_from",
    "key_id",
)


def _canonical(record: dict[str, Any]) -> bytes:
    body = {k: record.get(k) for k in SIGNED_FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(record: dict[str, Any], key: LedgerKey) -> dict[str, Any]:
    return {**record, "mac": key.mac(_canonical(record))}


@dataclass(frozen=True)
class Checkpoint:
    organisation: str  # slug, for messages
    organisation_id: str  # external id, what the check matches on
    seq: int
    hash: str
    keyed_from: int | None
    at: str
    source: str  # file and line, for messages


@dataclass
class Checkpoints:
    """Every valid checkpoint found, by organisation, and why any line was not accepted."""

    by_org: dict[str, list[Checkpoint]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    def add(self, cp: Checkpoint) -> None:
        self.by_org.setdefault(cp.organisation_id, []).append(cp)

    def for_org(self, organisation_id: str) -> list[Checkpoint]:
        return self.by_org.get(organisation_id, [])

    def orphans(self, known: set[str]) -> Iterator[tuple[str, str, Checkpoint]]:
        """The newest checkpoint of every organisation that is no longer in the database."""
        for org_id, cps in sorted(self.by_org.items()):
            if org_id not in known:
                newest = max(cps, key=lambda c: c.seq)
                yield org_id, newest.organisation, newest

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_org.values())


def anchor_dir() -> Path:
    return Path(settings.SAISEI_ANCHOR_DIR)


def _files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += sorted(path.glob("*.jsonl"))
        elif path.is_file():
            out.append(path)
    return out


def _parse(line: str, source: str, key: LedgerKey | None) -> Checkpoint | str:
    try:
        rec = json.loads(line)
        if not isinstance(rec, dict) or rec.get("format") != FORMAT:
            return f"{source}: not a Saisei checkpoint"
        if key is None:
            return f"{source}: cannot check the signature without the ledger key"
        if rec.get("key_id") != key.key_id:
            return (
                f"{source}: signed with ledger key {rec.get('key_id')}, but this installation's "
                f"key is {key.key_id}"
            )
        if rec.get("mac") != key.mac(_canonical(rec)):
            return f"{source}: the signature does not match (the checkpoint was altered or forged)"
        keyed_from = rec.get("keyed_from")
        return Checkpoint(
            organisation=str(rec["organisation"]),
            organisation_id=str(rec["organisation_id"]),
            seq=int(rec["seq"]),
            hash=str(rec["hash"]),
            keyed_from=int(keyed_from) if keyed_from is not None else None,
            at=str(rec["at"]),
            source=source,
        )
    except (ValueError, KeyError, TypeError) as exc:
        return f"{source}: unreadable checkpoint ({exc})"


def load_checkpoints(extra: Iterable[Path | str] = ()) -> Checkpoints:
    """Checkpoints in the anchor directory and in ``extra`` files or directories (e.g. saved
    e-mails); a line that is not a validly signed checkpoint is reported, never trusted."""
    found = Checkpoints()
    files = _files([anchor_dir(), *(Path(p) for p in extra)])
    if not files:
        return found
    key = None if ledger_key_problem() else ledger_key()
    for file in files:
        found.files.append(str(file))
        with file.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                parsed = _parse(line, f"{file.name}:{n}", key)
                if isinstance(parsed, Checkpoint):
                    found.add(parsed)
                else:
                    found.problems.append(parsed)
    return found


def _append(path: Path, lines: list[str]) -> None:
    """Append whole lines and flush them to disk; the file is only ever appended to."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        os.write(fd, "".join(line + "\n" for line in lines).encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _email(records: list[dict[str, Any]], lines: list[str]) -> int:
    """Each organisation's compliance officers receive their own chain's signed line."""
    sent = 0
    for rec, line in zip(records, lines, strict=True):
        officers = User.objects.filter(
            organisation__external_id=rec["organisation_id"],
            role_grants__role=Role.COMPLIANCE_OFFICER,
            is_active=True,
        ).exclude(email="")
        for officer in officers:
            with translation.override(officer.preferred_language or "en"):
                subject = _("Audit ledger checkpoint: %(org)s #%(seq)s") % {
                    "org": rec["organisation"],
                    "seq": rec["seq"],
                }
                body = _(
                    "Saisei recorded a checkpoint of your organisation's audit ledger at %(at)s: "
                    "entry #%(seq)s with hash %(hash)s.\n\nKeep this e-mail. If the ledger is "
                    "ever rewritten, shortened or restored from an older backup, `saisei audit "
                    "verify --anchors FILE` with the line below saved in FILE shows it.\n\n%(line)s"
                ) % {"at": rec["at"], "seq": rec["seq"], "hash": rec["hash"], "line": line}
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [officer.email])
            sent += 1
    return sent


@dataclass
class AnchorResult:
    records: list[dict[str, Any]]
    path: Path
    emails: int


def anchor_create(*, out_dir: Path | str | None = None, email: bool | None = None) -> AnchorResult:
    """Sign and store the head of every chain; e-mail each organisation its line if configured."""
    key = ledger_key()
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    anchor_id = uuid.uuid4().hex
    keyed_from = dict(
        AuditEntry.objects.filter(scheme__startswith="hmac-sha256:")
        .values_list("organisation_id")
        .annotate(first=Min("seq"))
        .values_list("organisation_id", "first")
    )
    records = []
    for head in AuditChainHead.objects.select_related("organisation").order_by("organisation_id"):
        if not head.last_seq:
            continue
        records.append(
            sign(
                {
                    "format": FORMAT,
                    "anchor": anchor_id,
                    "at": at,
                    "organisation": head.organisation.slug,
                    "organisation_id": str(head.organisation.external_id),
                    "seq": head.last_seq,
                    "hash": head.last_hash,
                    "keyed_from": keyed_from.get(head.organisation_id),
                    "key_id": key.key_id,
                },
                key,
            )
        )
    lines = [json.dumps(r, sort_keys=True, ensure_ascii=False) for r in records]
    path = Path(out_dir or anchor_dir()) / FILE_NAME
    if lines:
        _append(path, lines)
    send = settings.SAISEI_ANCHOR_EMAIL if email is None else email
    emails = _email(records, lines) if send and records else 0
    return AnchorResult(records, path, emails)
