"""The task worker runs the daily jobs itself, once a day, at ``SAISEI_DAILY_AT`` (Japan time).

No cron is needed: every ``saisei worker`` checks once a minute whether today's run is due and,
if so, claims the day by inserting its :class:`~saisei.core.models.DailyRun` row. The day is
unique, so with several workers on one database exactly one insert succeeds; the claim and the
queuing of the jobs commit together, so a run that fails leaves the day unclaimed for a retry.
A worker that was down at the set time catches up when it starts, the same day.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Callable
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from saisei.core.models import DailyRun

logger = logging.getLogger("saisei.schedule")

# After a failed run, wait this long before trying the day again (e-mails are not re-sent
# every minute while, say, the mail server is down).
RETRY_AFTER = dt.timedelta(minutes=15)


def daily_at() -> dt.time | None:
    """The configured local time of the daily run; ``None`` when the worker should not run it."""
    raw = str(getattr(settings, "SAISEI_DAILY_AT", "") or "").strip()
    if raw.lower() in ("", "off", "none"):
        return None
    try:
        return dt.time.fromisoformat(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"SAISEI_DAILY_AT must be a time of day such as 02:00 (or 'off'), not {raw!r}."
        ) from None


def due_day(now: dt.datetime) -> dt.date | None:
    """The day whose daily run is due at ``now``: today in Japan once the set time has passed."""
    at = daily_at()
    if at is None:
        return None
    local = timezone.localtime(now, ZoneInfo(settings.TIME_ZONE))
    return local.date() if local.time() >= at else None


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def daily_claim(*, day: dt.date, by: str) -> bool:
    """Claim ``day`` for this worker; False when another worker (or an earlier run) has it."""
    try:
        with transaction.atomic():
            DailyRun.objects.create(day=day, claimed_by=by[:200])
    except IntegrityError:
        return False
    return True


def run_if_due(*, run: Callable[[], None], now: dt.datetime | None = None, by: str = "") -> bool:
    """Run the daily jobs if today's run is due and nobody has claimed it; True if this ran it."""
    day = due_day(now or timezone.now())
    if day is None or DailyRun.objects.filter(day=day).exists():
        return False
    with transaction.atomic():
        if not daily_claim(day=day, by=by or worker_name()):
            return False
        run()
    logger.info("daily jobs queued for %s", day.isoformat())
    return True


class DailyScheduler(threading.Thread):
    """Background thread of ``saisei worker``: checks every ``interval`` seconds until stopped."""

    def __init__(self, *, run: Callable[[], None], interval: float = 60.0) -> None:
        super().__init__(name="saisei-daily", daemon=True)
        self.run_jobs = run
        self.interval = interval
        self.stopped = threading.Event()
        self.failed_at: dt.datetime | None = None

    def tick(self, now: dt.datetime | None = None) -> None:
        now = now or timezone.now()
        if self.failed_at is not None and now - self.failed_at < RETRY_AFTER:
            return
        try:
            run_if_due(run=self.run_jobs, now=now)
            self.failed_at = None
        except Exception:  # the worker goes on processing tasks; the log says why
            self.failed_at = now
            logger.exception("daily jobs failed; retrying in %s", RETRY_AFTER)

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.tick()
            finally:
                # This thread's connection only: not held open between the checks.
                connections.close_all()
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        self.stopped.set()
