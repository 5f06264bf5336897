"""Chart axes a reader can trust: months from baseline to the follow-up, scores over the scale.

Left to itself matplotlib centres a single baseline point on a tiny span (−0.03 to 0.03 months)
and fits the score axis to the data, which makes a one-point drop look like a collapse. Here the
month axis starts at 0 and reaches at least the planned follow-up, the score axis spans the
instrument's whole range (MMSE 0–30), and both use round tick steps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

# A year of follow-up is the programme's main read-out (3, 6 and 12 months; facts/outcomes.md).
DEFAULT_FOLLOW_UP_MONTHS = 12.0
# Steps in months that match visit schedules (every 3 or 6 months, yearly).
MONTH_STEPS = (1, 3, 6, 12, 24)
MAX_TICKS = 9


@dataclass(frozen=True)
class Axis:
    low: float
    high: float
    ticks: tuple[float, ...]

    @property
    def step(self) -> float:
        return self.ticks[1] - self.ticks[0] if len(self.ticks) > 1 else self.high - self.low


def _ticks(low: float, high: float, step: float) -> tuple[float, ...]:
    first = math.ceil(low / step - 1e-9) * step
    out, value = [], first
    while value <= high + 1e-9:
        out.append(round(value, 10))
        value += step
    return tuple(out)


def month_axis(
    months: Iterable[float], *, follow_up_months: float | None = DEFAULT_FOLLOW_UP_MONTHS
) -> Axis:
    """From 0 to the later of the data and the follow-up, ending on a tick of a calendar step."""
    latest = max((m for m in months if m is not None and math.isfinite(m)), default=0.0)
    span = max(latest, follow_up_months or 0.0, 1.0)
    step = next((s for s in MONTH_STEPS if span / s <= MAX_TICKS - 1), MONTH_STEPS[-1])
    high = math.ceil(span / step - 1e-9) * step
    return Axis(0.0, float(high), _ticks(0.0, high, step))


def nice_step(span: float, max_ticks: int = MAX_TICKS) -> float:
    """The smallest 1, 2 or 5 × 10^k step giving at most ``max_ticks`` ticks over ``span``."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(max_ticks - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw - 1e-12:
            return factor * power
    return 10 * power


def score_axis(low: float, high: float) -> Axis:
    """The instrument's whole range, ticked at a round step (MMSE 0–30 → 0, 5, …, 30)."""
    if high < low:
        low, high = high, low
    if high == low:
        low, high = low - 1, high + 1
    return Axis(float(low), float(high), _ticks(low, high, nice_step(high - low)))
