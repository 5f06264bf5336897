"""The cohort page's summary as it is stored: everything the page and the API show about a plan's
cohort on one measure, except the table of patients (read a page at a time).

The worker computes it (``services.cohort_summary_refresh``) from ``analysis.cohort`` and stores
it as JSON with the ledger position and the day it describes, so a reader knows with two reads
whether it still describes the data (decision 0039).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from saisei.outcomes.analysis import Cohort, VisitSlot, slot_label, visits_completeness
from saisei.outcomes.cohort import CohortFit, fit_from_json

if TYPE_CHECKING:
    from saisei.regulatory.models import ProvisionPlan

PLOT_PATIENTS = 200
"""Patients whose scores the chart draws; above it an even sample (the model uses all of them).
A line for each of a hundred thousand patients is a grey block, and the chart would be megabytes."""

# What a stored summary says about the data now.
CURRENT = "current"  # computed after the last write in the organisation, today
OUTDATED = "outdated"  # computed from earlier data or on an earlier day; a new one is queued
PENDING = "pending"  # nothing computed yet; queued


@dataclass
class CohortSummary:
    plan: ProvisionPlan
    measure: str
    state: str
    computed_at: dt.datetime | None = None
    as_of: dt.date | None = None  # the day the visits were counted on ("not yet due" moves daily)
    stage: str | None = None
    stage_counts: dict[str, int] = field(default_factory=dict)
    n_enrolled: int = 0
    n_dropped_out: int = 0
    fit: CohortFit = field(
        default_factory=lambda: CohortFit(
            slope_per_year=None, ci_low=None, ci_high=None, n_patients=0, n_obs=0, method="none"
        )
    )
    visits: list[VisitSlot] = field(default_factory=list)
    dropout_reasons: dict[str, int] = field(default_factory=dict)
    ae_summary: dict[str, Any] = field(default_factory=dict)
    plot_rows: list[dict[str, Any]] = field(default_factory=list)
    n_plotted: int = 0  # patients drawn in the chart

    @property
    def completeness(self) -> float | None:
        return visits_completeness(self.visits)

    @property
    def plot_sampled(self) -> bool:
        return self.n_plotted < self.fit.n_patients


def _plot_sample(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """Every patient's scores when they are few; an even sample of PLOT_PATIENTS patients (by
    code, so the same patients each time) when they are many."""
    codes = sorted({str(r["patient"]) for r in rows if r.get("score") is not None})
    if len(codes) > PLOT_PATIENTS:
        step = len(codes) / PLOT_PATIENTS
        codes = [codes[int(i * step)] for i in range(PLOT_PATIENTS)]
    keep = set(codes)
    return (
        [
            {"patient": r["patient"], "months": r["months"], "score": r["score"]}
            for r in rows
            if r.get("score") is not None and str(r["patient"]) in keep
        ],
        len(codes),
    )


def summary_to_json(c: Cohort) -> dict[str, Any]:
    """The stored part of a computed cohort (its fit is stored beside it)."""
    plot_rows, n_plotted = _plot_sample(c.rows)
    return {
        "stage": c.stage,
        "stage_counts": c.stage_counts,
        "n_enrolled": c.n_enrolled,
        "n_dropped_out": c.n_dropped_out,
        "visits": [
            {
                "kind": v.kind,
                "number": v.number,
                "due": v.due,
                "done": v.done,
                "missed": v.missed,
                "dropped_out": v.dropped_out,
                "not_yet_due": v.not_yet_due,
            }
            for v in c.visits
        ],
        "dropout_reasons": c.dropout_reasons,
        "ae_summary": c.ae_summary,
        "plot_rows": plot_rows,
        "n_plotted": n_plotted,
    }


def summary_from_json(
    *,
    plan: ProvisionPlan,
    measure: str,
    state: str,
    data: dict[str, Any],
    fit: dict[str, Any],
    computed_at: dt.datetime | None,
    as_of: dt.date | None,
) -> CohortSummary:
    """A stored summary for reading; visit names in the reader's language."""
    return CohortSummary(
        plan=plan,
        measure=measure,
        state=state,
        computed_at=computed_at,
        as_of=as_of,
        stage=data.get("stage"),
        stage_counts=dict(data.get("stage_counts", {})),
        n_enrolled=int(data.get("n_enrolled", 0)),
        n_dropped_out=int(data.get("n_dropped_out", 0)),
        fit=fit_from_json(fit),
        visits=[
            VisitSlot(
                kind=v["kind"],
                number=v["number"],
                label=slot_label(v["kind"], v["number"]),
                due=v["due"],
                done=v["done"],
                missed=v["missed"],
                dropped_out=v["dropped_out"],
                not_yet_due=v["not_yet_due"],
            )
            for v in data.get("visits", [])
        ],
        dropout_reasons=dict(data.get("dropout_reasons", {})),
        ae_summary=dict(data.get("ae_summary", {})),
        plot_rows=list(data.get("plot_rows", [])),
        n_plotted=int(data.get("n_plotted", 0)),
    )
