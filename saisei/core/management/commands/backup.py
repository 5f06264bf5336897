from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saisei.core.backup import BackupError, backup_create


class Command(BaseCommand):
    help = (
        "Write one archive with a consistent snapshot of the database, the uploaded files and a "
        "manifest (row counts, checksums, ledger chain heads). Safe while the service runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the archive to write (e.g. saisei-2026-12-06.tar.gz)")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            manifest = backup_create(Path(opts["path"]))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        rows = sum(manifest["counts"].values())
        self.stdout.write(
            f"Backup written to {opts['path']}: {rows} rows in {len(manifest['counts'])} tables, "
            f"{len(manifest['members']) - 1} files, {len(manifest['chain_heads'])} ledger chains."
        )
