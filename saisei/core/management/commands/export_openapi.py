from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Write the OpenAPI schema to a file, or with --check fail if the committed one differs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--check", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        from saisei.api import api

        text = (
            json.dumps(api.get_openapi_schema(), indent=2, sort_keys=True, ensure_ascii=False)
            + "\n"
        )
        path = Path(opts["path"])
        if opts["check"]:
            if not path.exists() or path.read_text() != text:
                raise CommandError(
                    f"{path} is out of date: run `saisei export_openapi {path}` and commit it."
                )
            self.stdout.write(f"{path} is up to date.")
            return
        path.write_text(text)
        self.stdout.write(f"Wrote {path}.")
