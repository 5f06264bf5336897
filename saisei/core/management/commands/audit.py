from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saisei.core.audit import audit_verify
from saisei.core.models import AuditEntry


class Command(BaseCommand):
    help = "Audit ledger tools. `audit verify` exits non-zero naming the first bad entry of a broken chain."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify")

    def handle(self, *args: Any, **opts: Any) -> None:
        problems = audit_verify()
        if problems:
            for p in problems:
                self.stderr.write(f"BROKEN {p}")
            raise CommandError(f"Audit ledger verification failed: {problems[0]}", returncode=1)
        self.stdout.write(f"Audit ledger intact: {AuditEntry.objects.count()} entries verified.")
