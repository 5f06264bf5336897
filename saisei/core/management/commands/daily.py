"""Queue every app's daily work (ledger checkpoint, deadline and assessment reminders) for the worker.

Each app lists its jobs in ``<app>/jobs.py`` (``DAILY_JOBS``, see ``saisei.core.registry``).
Schedule once a day, e.g. cron ``15 6 * * * saisei daily``; ``saisei worker`` runs the queue.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from saisei.core.registry import daily_jobs


class Command(BaseCommand):
    help = "Queue the daily jobs every app registers (e.g. the ledger checkpoint, reminders)."

    def handle(self, *args: Any, **opts: Any) -> None:
        for job in daily_jobs():
            job.task.enqueue()
            self.stdout.write(job.done)
