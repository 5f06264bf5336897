from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Write every lifecycle's diagram and transition table (docs/lifecycles.md) from the"
        " apps' lifecycles.py, or with --check fail if the file differs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--check", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        from saisei.core.workflow import render_markdown

        text = render_markdown() + "\n"
        path = Path(opts["path"])
        if opts["check"]:
            if not path.exists() or path.read_text() != text:
                raise CommandError(
                    f"{path} is out of date: run `saisei lifecycles {path}` and commit it."
                )
            self.stdout.write(f"{path} is up to date.")
            return
        path.write_text(text)
        self.stdout.write(f"Wrote {path}.")
