"""Outcomes' daily work for ``saisei daily``: reminders of assessment visits due or overdue."""

from __future__ import annotations

from saisei.core.registry import DailyJob
from saisei.outcomes.tasks import send_assessment_reminders

DAILY_JOBS = [
    DailyJob("outcomes", send_assessment_reminders, "outcomes: assessment reminders queued", 50),
]
