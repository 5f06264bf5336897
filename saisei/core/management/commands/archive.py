from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saisei.core.archive import ArchiveError, archive_verify, archive_write
from saisei.core.models import Organisation


class Command(BaseCommand):
    help = (
        "Handover archive of one organisation's records (closure or handover of a programme): "
        "'create ORG PATH' writes the zip (JSON and CSV per record class, the stored documents, "
        "the retention table, a manifest with the SHA-256 of every file); 'verify PATH' checks it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create")
        create.add_argument("organisation", help="the organisation's slug or name")
        create.add_argument("path")
        verify = sub.add_parser("verify")
        verify.add_argument("path")

    def handle(self, *args: Any, **opts: Any) -> None:
        path = Path(opts["path"])
        if opts["action"] == "verify":
            problems = archive_verify(path)
            if problems:
                for problem in problems:
                    self.stderr.write(problem)
                raise CommandError(
                    f"{path}: {len(problems)} problem(s); the archive is not intact."
                )
            self.stdout.write(f"{path}: every file matches its SHA-256 in the manifest.")
            return
        org = (
            Organisation.objects.filter(slug=opts["organisation"]).first()
            or Organisation.objects.filter(name=opts["organisation"]).first()
        )
        if org is None:
            raise CommandError(f"No organisation {opts['organisation']!r}.")
        try:
            manifest = archive_write(organisation=org, path=path)
        except ArchiveError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Archive written to {path}: {sum(manifest['counts'].values())} records in "
            f"{len([c for c in manifest['counts'].values() if c])} classes, "
            f"{len(manifest['documents'])} documents, {len(manifest['files'])} files; "
            f"SHA-256 {manifest['archive_sha256']}."
        )
