from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from saisei.core.backup import BackupError, backup_restore


class Command(BaseCommand):
    help = (
        "Restore a `saisei backup` archive into an empty database and data directory, then verify "
        "the audit ledger and compare row counts and chain heads with the archive's manifest."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the archive written by `saisei backup`")
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace a database and media directory that are not empty",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            report = backup_restore(Path(opts["path"]), force=opts["force"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        if report.problems:
            for problem in report.problems:
                self.stderr.write(f"MISMATCH {problem}")
            raise CommandError("The restore does not match the backup.", returncode=1)
        # A backup from an older version is brought up to this version's schema afterwards.
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(
            f"Restored and verified: {report.counts_checked} tables match the manifest; "
            f"{report.entries_verified} ledger entries verified."
        )
