"""The programme's legal time zone.

ASRM deadlines, adverse-event clocks and the Japanese calendar days on labels and worklists are
counted in Japan Standard Time, whatever zone the server runs in; every app takes the zone from here.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

TOKYO = ZoneInfo("Asia/Tokyo")


def today_tokyo() -> dt.date:
    """Legal deadlines are Japanese calendar dates, whatever the server's zone."""
    return timezone.now().astimezone(TOKYO).date()
