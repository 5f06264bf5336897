from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from saisei.core.anchors import anchor_create, load_checkpoints
from saisei.core.audit import audit_verify
from saisei.core.models import AuditEntry


class Command(BaseCommand):
    help = (
        "Audit ledger tools. `audit verify` exits non-zero naming the first bad entry of a "
        "broken chain; `audit anchor` records a signed checkpoint of every chain outside the "
        "database."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="Check every chain and every known checkpoint.")
        verify.add_argument(
            "--anchors",
            action="append",
            default=[],
            metavar="PATH",
            help="More checkpoints: a file (e.g. a line saved from the e-mail) or a directory.",
        )
        anchor = sub.add_parser("anchor", help="Record a signed checkpoint of every chain.")
        anchor.add_argument("--out", metavar="DIR", help="Anchor directory (default: setting).")
        anchor.add_argument("--no-email", action="store_true", help="Do not e-mail this one.")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            if opts["action"] == "anchor":
                self._anchor(opts)
            else:
                self._verify(opts)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc), returncode=2) from exc

    def _anchor(self, opts: dict[str, Any]) -> None:
        result = anchor_create(out_dir=opts.get("out"), email=False if opts["no_email"] else None)
        for rec in result.records:
            self.stdout.write(f"{rec['organisation']}: #{rec['seq']} {rec['hash'][:16]}…")
        self.stdout.write(
            f"Checkpoint of {len(result.records)} chains appended to {result.path}; "
            f"{result.emails} e-mails sent."
        )

    def _verify(self, opts: dict[str, Any]) -> None:
        checkpoints = load_checkpoints(opts["anchors"])
        problems = audit_verify(checkpoints=checkpoints)
        if problems:
            for p in problems:
                self.stderr.write(f"BROKEN {p}")
            raise CommandError(f"Audit ledger verification failed: {problems[0]}", returncode=1)
        against = (
            f"against {len(checkpoints)} checkpoints"
            if len(checkpoints)
            else "(no checkpoints found: run `saisei audit anchor`)"
        )
        self.stdout.write(
            f"Audit ledger intact: {AuditEntry.objects.count()} entries verified {against}."
        )
