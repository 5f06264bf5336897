"""Daily regulatory run: add periodic-report obligations and send deadline reminders.

Schedule once a day (cron or a systemd timer): ``saisei regulatory_daily --enqueue`` queues the
work for the task worker; without ``--enqueue`` it runs at once.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Add periodic-report obligations for new periods and send deadline reminders."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--enqueue", action="store_true", help="Queue the work for the task worker."
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        from saisei.regulatory import services, tasks

        if opts["enqueue"]:
            tasks.send_obligation_reminders.enqueue()
            self.stdout.write("regulatory: daily reminders queued")
            return
        added = services.obligations_refresh_all()
        sent = services.obligation_reminders_send()
        self.stdout.write(
            f"regulatory: {added} periodic obligations checked, {sent} reminders sent"
        )
