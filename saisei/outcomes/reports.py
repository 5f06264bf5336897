"""Documents from the outcome registry: the family report, the clinic's cohort report and the CSV export.

The family report is for a worried family member: plots against the course expected without
treatment, the plain-language reading and the reasons a change can mislead, never a claim of
benefit (DESIGN invariant 8). Japanese comes from the catalogue, or the app's JA table until merged.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from reportlab.lib.units import mm
from reportlab.platypus import Image, KeepTogether, Paragraph, Spacer

from saisei.core.pdf import build_a4_pdf, data_table, escape, paragraph_styles
from saisei.outcomes.analysis import (
    COHORT_STAGE_NOTES,
    PRIMARY_MEASURES,
    Cohort,
    PatientOutcomes,
    slot_label,
)
from saisei.outcomes.fit_labels import METHOD_LABELS, WARNING_LABELS
from saisei.outcomes.instruments import measure_info
from saisei.outcomes.plots import cohort_png, tr, trajectory_png
from saisei.outcomes.reference import STAGES

T: dict[str, Any] = {
    "family_title": _("How things have changed: a report for the family"),
    "patient": _("Patient"),
    "prepared": _("Prepared on"),
    "stage": _("Stage used for the expected course"),
    "stage_unknown": _("Not known: no comparison with the course expected without treatment"),
    "intro": _(
        "This report shows the test scores measured at the clinic over time. Each chart also shows "
        "how scores usually change over the same time in people with the same stage of illness who "
        "receive no stem-cell treatment (the grey band). A score inside the band is what would be "
        "expected without treatment."
    ),
    "limits_heading": _("What this report can and cannot tell you"),
    "limits": _(
        "No controlled trial has shown that stem-cell treatment slows Alzheimer's disease or improves "
        "sleep, behaviour or memory. One person's scores move by several points from day to day, "
        "and many people change little for a year or more without any treatment. So a good result "
        "in this report cannot show that the treatment worked, and a poor one does not prove it failed."
    ),
    "baseline": _("Starting score"),
    "latest": _("Latest score"),
    "change": _("Change"),
    "expected_range": _("Range expected without treatment"),
    "why_careful": _("Why to be careful with this result"),
    "no_scores": _("No test scores have been recorded yet."),
    "questions": _("If you have questions about this report, please talk to the doctor."),
    "clinic_title": _("Outcome registry: cohort report"),
    "plan": _("Provision plan"),
    "period": _("Data up to"),
    "enrolled": _("Patients enrolled"),
    "dropped": _("Stopped or withdrew"),
    "measure": _("Measure"),
    "n": _("Patients with scores / with follow-up"),
    "slope": _("Cohort change per year (95% CI)"),
    "reference": _("Expected change per year without treatment"),
    "method": _("Method"),
    "completeness": _("Follow-up completeness"),
    "visit": _("Visit"),
    "due": _("Due"),
    "done": _("Done"),
    "missed": _("Missed"),
    "dropped_out": _("After dropout"),
    "reasons": _("Reasons for stopping"),
    "ae": _("Adverse events"),
    "ae_none": _("The safety module holds no adverse-event data for these patients."),
    "ae_line": _("%(total)s adverse events in %(patients)s patients."),
    "ae_serious": _("Serious: %(n)s"),
    "cohort_caveats": _(
        "Single-arm and unblinded: a slope that differs from the reference cannot be credited to "
        "the treatment. Paying patients differ from research cohorts, early scores rise with "
        "practice, and patients who stop attending are shown rather than removed."
    ),
    "warnings": _("Warnings from the model"),
    "not_estimated": _("not estimated"),
}


def _t(key: str, language: str) -> str:
    return tr(T[key], language)


def _fmt(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "—"
    return f"{x:+.{digits}f}" if x else f"{x:.{digits}f}"


def _plain(x: float | None) -> str:
    return "—" if x is None else f"{x:g}"


def family_report_pdf(*, outcomes: PatientOutcomes, language: str, clinic_name: str) -> bytes:
    """A4 report for the family in their language, with one chart per measure."""
    with translation.override(language):
        styles = paragraph_styles(base_size=10.5)
        patient = outcomes.patient
        story: list[Any] = [
            Paragraph(escape(_t("family_title", language)), styles["title"]),
            data_table(
                rows=[
                    [_t("patient", language), f"{patient.display_name} ({patient.patient_code})"],
                    [_t("prepared", language), timezone.localdate().isoformat()],
                    [
                        _t("stage", language),
                        tr(STAGES[outcomes.stage], language)
                        if outcomes.stage
                        else _t("stage_unknown", language),
                    ],
                ],
                header=False,
                col_widths=[55 * mm, 115 * mm],
            ),
            Spacer(1, 4 * mm),
            Paragraph(escape(_t("intro", language)), styles["body"]),
            Paragraph(escape(str(outcomes.basis.explanation)), styles["body"]),
            Spacer(1, 3 * mm),
            Paragraph(escape(_t("limits_heading", language)), styles["heading"]),
            Paragraph(escape(_t("limits", language)), styles["body"]),
        ]
        if not outcomes.trajectories:
            story.append(Paragraph(escape(_t("no_scores", language)), styles["body"]))
        # The family sees the measures a reading is built for; staging-only ones (CDR global) stay on the clinic page.
        for traj in (t for t in outcomes.trajectories if t.measure in PRIMARY_MEASURES):
            story.extend(_family_measure(traj, language, styles))
        story.append(Paragraph(escape(_t("questions", language)), styles["body"]))
        return build_a4_pdf(
            story=story,
            title=_t("family_title", language),
            header_left=clinic_name,
            header_right=patient.patient_code,
            footer_left=clinic_name,
        )


def clinic_report_pdf(*, cohorts: list[Cohort], language: str, clinic_name: str) -> bytes:
    """The plan's cohort report: slopes with intervals beside the reference, completeness, dropouts, AEs."""
    with translation.override(language):
        styles = paragraph_styles(base_size=9.5)
        first = cohorts[0]
        plan = first.plan
        story: list[Any] = [
            Paragraph(escape(_t("clinic_title", language)), styles["title"]),
            data_table(
                rows=[
                    [_t("plan", language), f"{plan.title} {plan.plan_number}".strip()],
                    [_t("period", language), first.today.isoformat()],
                    [_t("enrolled", language), str(first.n_enrolled)],
                    [_t("dropped", language), str(first.n_dropped_out)],
                ],
                header=False,
                col_widths=[55 * mm, 115 * mm],
            ),
            Spacer(1, 3 * mm),
            Paragraph(escape(_t("cohort_caveats", language)), styles["body"]),
        ]
        story.append(_slopes_table(cohorts, language))
        story.extend(_cohort_charts(cohorts, language, styles))
        story.extend(_completeness_and_safety(first, language, styles))
        return build_a4_pdf(
            story=story,
            title=_t("clinic_title", language),
            header_left=clinic_name,
            header_right=plan.plan_number or plan.title,
            footer_left=clinic_name,
        )


def _family_measure(traj: Any, language: str, styles: Any) -> list[Any]:
    """One measure's chart, reading, numbers and caveats for the family report."""
    out: list[Any] = []
    r = traj.reading
    name = tr(traj.name, language)
    png = trajectory_png(reading=r, observations=traj.observations, language=language, title=name)
    block: list[Any] = [
        Paragraph(escape(name), styles["heading"]),
        Image(io.BytesIO(png), width=160 * mm, height=160 * mm * 4.4 / 7.2),
        Paragraph("<b>" + escape(tr(r.text, language)) + "</b>", styles["body"]),
    ]
    if r.baseline is not None:
        band = (
            f"{r.lower:.1f} – {r.upper:.1f}" if r.lower is not None and r.upper is not None else "—"
        )
        block.append(
            data_table(
                rows=[
                    [
                        _t("baseline", language),
                        _t("latest", language),
                        _t("change", language),
                        _t("expected_range", language),
                    ],
                    [
                        f"{r.baseline:.1f} ({r.baseline_date})",
                        f"{r.latest:.1f} ({r.latest_date})" if r.latest is not None else "—",
                        _fmt(r.observed_change),
                        band,
                    ],
                ],
                col_widths=[42 * mm, 42 * mm, 30 * mm, 56 * mm],
            )
        )
    out.append(KeepTogether(block))
    if r.caveats:
        out.append(Paragraph(escape(_t("why_careful", language)), styles["body"]))
        out.extend(
            Paragraph("• " + escape(tr(c.text, language)), styles["small"]) for c in r.caveats
        )
    out.append(Spacer(1, 4 * mm))
    return out


def _slopes_table(cohorts: list[Cohort], language: str) -> Any:
    """Each measure's slope with its interval beside the reference change."""
    rows = [
        [
            _t("measure", language),
            _t("n", language),
            _t("slope", language),
            _t("reference", language),
            _t("method", language),
        ]
    ]
    for c in cohorts:
        f = c.fit
        slope = (
            f"{_fmt(f.slope_per_year, 2)} ({_fmt(f.ci_low, 2)} to {_fmt(f.ci_high, 2)})"
            if f.slope_per_year is not None
            else _t("not_estimated", language)
        )
        rows.append(
            [
                c.measure,
                f"{f.n_patients} / {f.n_patients_with_follow_up} (n={c.n_enrolled})",
                slope,
                _fmt(f.reference_annual_change, 2),
                tr(METHOD_LABELS.get(f.method, f.method), language),
            ]
        )
    return data_table(rows=rows, col_widths=[25 * mm, 35 * mm, 50 * mm, 30 * mm, 30 * mm])


def _cohort_charts(cohorts: list[Cohort], language: str, styles: Any) -> list[Any]:
    """Each measure's cohort chart with the fit's warnings."""
    out: list[Any] = []
    for c in cohorts:
        if not c.rows:
            continue
        png = cohort_png(measure=c.measure, rows=c.rows, fit=c.fit, language=language)
        out.append(
            KeepTogether(
                [
                    Paragraph(
                        escape(tr(measure_info(c.measure).instrument.name, language)),
                        styles["heading"],
                    ),
                    Image(io.BytesIO(png), width=150 * mm, height=150 * mm * 4.4 / 7.2),
                ]
            )
        )
        if c.fit.warnings:
            out.append(
                Paragraph(
                    escape(
                        _t("warnings", language)
                        + ": "
                        + " ".join(
                            tr(WARNING_LABELS.get(w) or COHORT_STAGE_NOTES.get(w, w), language)
                            for w in c.fit.warnings
                        )
                    ),
                    styles["small"],
                )
            )
    return out


def _completeness_and_safety(first: Cohort, language: str, styles: Any) -> list[Any]:
    """Visit completeness, reasons for dropping out and the adverse-event summary."""
    out: list[Any] = []
    out.append(Paragraph(escape(_t("completeness", language)), styles["heading"]))
    vrows = [
        [
            _t("visit", language),
            _t("due", language),
            _t("done", language),
            _t("missed", language),
            _t("dropped_out", language),
        ]
    ]
    for v in first.visits:
        label = slot_label(v.kind, v.number, language=language)
        vrows.append([label, str(v.due), str(v.done), str(v.missed), str(v.dropped_out)])
    out.append(data_table(rows=vrows, col_widths=[70 * mm, 25 * mm, 25 * mm, 25 * mm, 25 * mm]))
    if first.dropout_reasons:
        out.append(Paragraph(escape(_t("reasons", language)), styles["heading"]))
        out.extend(
            Paragraph(escape(f"• {reason}: {n}"), styles["body"])
            for reason, n in first.dropout_reasons.items()
        )
    out.append(Paragraph(escape(_t("ae", language)), styles["heading"]))
    ae = first.ae_summary
    out.append(
        Paragraph(
            escape(
                _t("ae_line", language) % {"total": ae["total"], "patients": ae["patients"]}
                if ae
                else _t("ae_none", language)
            ),
            styles["body"],
        )
    )
    if ae and ae.get("serious") is not None:
        out.append(
            Paragraph(escape(_t("ae_serious", language) % {"n": ae["serious"]}), styles["body"])
        )
    return out


CSV_COLUMNS = [
    "plan",
    "patient_code",
    "course_status",
    "stopped",
    "stop_reason",
    "infusions_given",
    "measure",
    "assessed_on",
    "months_from_first_score",
    "score",
]


def cohort_csv(*, cohorts: list[Cohort]) -> str:
    """One row per score; patients without any score still get a row, so nobody silently disappears."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for c in cohorts:
        by_patient: dict[str, list[dict[str, Any]]] = {}
        for row in c.rows:
            by_patient.setdefault(row["patient"], []).append(row)
        for p in c.patients:
            base = [
                c.plan.plan_number or c.plan.title,
                p.patient.patient_code,
                p.course.status,
                "yes" if p.stopped else "no",
                p.stop_reason,
                "" if p.administrations is None else p.administrations,
                c.measure,
            ]
            scores = by_patient.get(p.patient.patient_code, [])
            if not scores:
                writer.writerow([*base, "", "", ""])
            for row in scores:
                writer.writerow(
                    [*base, row["date"].isoformat(), f"{row['months']:.2f}", f"{row['score']:g}"]
                )
    return buf.getvalue()
