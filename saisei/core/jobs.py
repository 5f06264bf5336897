"""Core's daily work for ``saisei daily``: a signed checkpoint of every audit-ledger chain."""

from __future__ import annotations

from saisei.core.registry import DailyJob
from saisei.core.tasks import anchor_ledger

DAILY_JOBS = [
    DailyJob("core-anchor", anchor_ledger, "core: audit ledger checkpoint queued", 5),
]
