from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from saisei.core.schedule import DailyScheduler, daily_at, run_if_due


class Command(BaseCommand):
    help = (
        "Run background tasks (django-tasks database backend), and the daily jobs at "
        "SAISEI_DAILY_AT once a day across all workers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch", action="store_true", help="Process what is queued, then exit."
        )
        parser.add_argument(
            "--no-daily", action="store_true", help="Never run the daily jobs from this worker."
        )

    def _daily(self) -> None:
        call_command("daily", stdout=self.stdout)

    def handle(self, *args: Any, **opts: Any) -> None:
        scheduled = not opts["no_daily"] and daily_at() is not None
        scheduler = None
        if scheduled and opts["batch"]:
            # One pass: queue today's jobs if due, then the batch below runs them.
            run_if_due(run=self._daily)
        elif scheduled:
            scheduler = DailyScheduler(run=self._daily)
            scheduler.start()
        try:
            call_command("db_worker", *(["--batch"] if opts["batch"] else []))
        finally:
            if scheduler is not None:
                scheduler.stop()
