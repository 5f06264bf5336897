from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run background tasks (django-tasks database backend)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch", action="store_true", help="Process what is queued, then exit."
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        extra = ["--batch"] if opts["batch"] else []
        call_command("db_worker", *extra)
