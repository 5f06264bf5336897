"""Regulatory's daily work for ``saisei daily``: periodic-report obligations and deadline reminders."""

from __future__ import annotations

from saisei.core.registry import DailyJob
from saisei.regulatory.tasks import send_obligation_reminders

DAILY_JOBS = [
    DailyJob("regulatory", send_obligation_reminders, "regulatory: daily reminders queued", 10),
]
