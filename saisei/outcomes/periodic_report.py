"""The outcome section of the plan's periodic report (contributed through core's registry).

Rows are (English msgid, value); values with parameters are dicts whose "count" is shown, so the
regulatory renderer can translate the label. Numbers come from ``analysis.periodic_report_outcome_section``.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_noop

from saisei.core.registry import ReportScope, ReportSection
from saisei.outcomes.analysis import REPORT_CAVEATS, periodic_report_outcome_section


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:+.2f}"


def build(scope: ReportScope) -> list[tuple[str, Any]] | None:
    """Every enrolled patient counts; slopes carry their interval and the reference beside them."""
    data = periodic_report_outcome_section(
        plan=scope.plan, period_start=scope.start, period_end=scope.end
    )
    if not data["n_enrolled"]:
        return None
    rows: list[tuple[str, Any]] = [
        (gettext_noop("Patients with a course on the plan"), data["n_enrolled"]),
        (gettext_noop("Stopped or left outcome follow-up"), data["n_dropped_out"]),
    ]
    for reason, n in sorted(data["dropout_reasons"].items()):
        rows.append((gettext_noop("Reason for stopping: {reason}"), {"reason": reason, "count": n}))
    for m in data["measures"]:
        measure = m["measure"]
        rows.append(
            (
                gettext_noop("{measure}: patients with scores / with follow-up"),
                {
                    "measure": measure,
                    "count": f"{m['n_with_scores']} / {m['n_with_follow_up']}",
                },
            )
        )
        interval = (
            f"{_num(m['slope_per_year'])} ({_num(m['ci_low'])} – {_num(m['ci_high'])}), {m['method']}"
            if m["slope_per_year"] is not None
            else "—"
        )
        rows.append(
            (
                gettext_noop("{measure}: change per year, 95% confidence interval"),
                {"measure": measure, "count": interval},
            )
        )
        rows.append(
            (
                gettext_noop("{measure}: expected change per year without treatment"),
                {"measure": measure, "count": _num(m["reference_annual_change"])},
            )
        )
        completeness = m["completeness"]
        rows.append(
            (
                gettext_noop("{measure}: follow-up completeness"),
                {
                    "measure": measure,
                    "count": "—" if completeness is None else f"{round(completeness * 100)}%",
                },
            )
        )
    for caveat in REPORT_CAVEATS:
        rows.append((gettext_noop("Caveat"), str(caveat)))
    return rows


SECTIONS = [ReportSection("outcomes", gettext_noop("Outcome summary"), 50, build)]
