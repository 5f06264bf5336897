"""Queue every app's daily work (deadline reminders, assessment reminders) for the worker.

Schedule once a day, e.g. cron ``15 6 * * * saisei daily``; ``saisei worker`` runs the queue.
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Queue the daily jobs: regulatory deadline reminders and outcome assessment reminders."

    def handle(self, *args: Any, **opts: Any) -> None:
        from saisei.outcomes.tasks import send_assessment_reminders

        call_command("regulatory_daily", "--enqueue", stdout=self.stdout)
        send_assessment_reminders.enqueue()
        self.stdout.write("outcomes: assessment reminders queued")
