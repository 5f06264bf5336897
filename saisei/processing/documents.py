"""PDF documents an inspector reads: the batch record of a lot and the chain of custody of a dose."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table

from saisei.core import numbers
from saisei.core.pdf import (
    build_a4_pdf,
    data_table,
    escape,
    format_datetime_local,
    paragraph_styles,
)


def _dt(value: Any) -> str:
    return format_datetime_local(value) if value else "—"


def _cells(value: Any) -> str:
    return numbers.cells(value)


def batch_record_pdf(*, record: dict[str, Any], readiness: Any, spec_rows: list[Any]) -> bytes:
    """The lot's batch record in the order it was made: donation, culture, environment, QC,
    deviations, release and doses (ASRM Ordinance manufacturing records; GMP batch record)."""
    styles = paragraph_styles()
    lot, donation = record["lot"], record["donation"]
    story: list[Any] = [
        Paragraph(escape(_("Batch record: lot %(n)s") % {"n": lot.number}), styles["title"]),
        _identity_table(lot, donation),
        Paragraph(escape(_("Made under")), styles["heading"]),
        _documents_table(record),
        Paragraph(escape(_("Culture record")), styles["heading"]),
        _culture_table(record),
        Paragraph(escape(_("Environmental monitoring")), styles["heading"]),
        _environment_table(record),
        Paragraph(
            escape(_("QC against specification")) + f" — {escape(readiness.status)}",
            styles["heading"],
        ),
        _qc_table(spec_rows),
        Paragraph(escape(_("Deviations")), styles["heading"]),
        _deviations_table(record),
        Paragraph(escape(_("Release")), styles["heading"]),
    ]
    release = record["release"]
    if release is not None:
        story.append(
            data_table(
                rows=[
                    [_("Kind"), str(release.get_kind_display())],
                    [_("Signed by"), f"{release.signed_by} · {_dt(release.signed_at)}"],
                    [_("Meaning"), release.meaning],
                    [_("Justification"), release.justification or "—"],
                ],
                header=False,
                col_widths=[40 * mm, 134 * mm],
            )
        )
    else:
        story.append(Paragraph(escape(_("Not released.")), styles["body"]))
    story += [
        Paragraph(escape(_("Doses")), styles["heading"]),
        _doses_table(record),
        Spacer(1, 4 * mm),
        Paragraph(escape(_("Printed %(at)s") % {"at": _dt(timezone.now())}), styles["small"]),
    ]
    return build_a4_pdf(
        story=story,
        title=_("Batch record %(n)s") % {"n": lot.number},
        header_left=_("Batch record"),
        header_right=lot.number,
        footer_left=donation.din,
    )


def _identity_table(lot: Any, donation: Any) -> Table:
    """The lot and the donation it was made from."""
    return data_table(
        rows=[
            [_("Patient"), donation.patient.patient_code, _("DIN"), donation.din],
            [_("Chain of identity"), donation.coi, _("Status"), str(lot.get_status_display())],
            [
                _("Route"),
                str(lot.get_route_display()),
                _("Planned doses"),
                f"{lot.planned_doses} × {_cells(lot.cells_per_dose)}",
            ],
            [
                _("Collected"),
                _dt(donation.collected_at),
                _("Tissue"),
                f"{donation.tissue_weight_g} g · {donation.harvest_site}",
            ],
        ],
        header=False,
        col_widths=[32 * mm, 55 * mm, 32 * mm, 55 * mm],
    )


def _documents_table(record: dict[str, Any]) -> Table:
    """The controlled document versions the lot was made under."""
    return data_table(
        rows=[[_("Document"), _("Version"), _("In effect from"), _("Approved by")]]
        + (
            [
                [
                    f"{d.get_kind_display()}: {d.document_number} {d.title}",
                    d.version,
                    d.effective_from.isoformat(),
                    d.approved_by,
                ]
                for d in record.get("documents", [])
            ]
            or [[_("No document versions recorded for this lot."), "", "", ""]]
        ),
        col_widths=[84 * mm, 25 * mm, 30 * mm, 35 * mm],
    )


def _culture_table(record: dict[str, Any]) -> Table:
    """Each culture step with its counts, vessels and material lots."""
    return data_table(
        rows=[
            [
                _("Time"),
                _("Step"),
                _("Passage"),
                _("Viable cells"),
                _("Viability"),
                _("PD"),
                _("Vessels"),
                _("Medium / reagent lots"),
                _("By"),
            ]
        ]
        + [
            [
                _dt(s.performed_at),
                str(s.get_kind_display()),
                f"P{s.passage_number}",
                _cells(s.cell_count),
                "—" if s.viability_pct is None else f"{s.viability_pct} %",
                "—" if s.population_doublings is None else str(s.population_doublings),
                f"{s.vessel_count} × {s.vessel_type}" if s.vessel_count else "—",
                f"{s.media_lot} {s.reagent_lots}".strip() or "—",
                str(s.performed_by),
            ]
            for s in record["steps"]
        ],
    )


def _environment_table(record: dict[str, Any]) -> Table:
    """Environmental monitoring samples during the lot, with limits and results."""
    return data_table(
        rows=[
            [
                _("Sampled"),
                _("Location"),
                _("Parameter"),
                _("Value"),
                _("Alert / action"),
                _("Result"),
            ]
        ]
        + [
            [
                _dt(e.sampled_at),
                " · ".join(x for x in (e.room, e.location) if x),
                str(e.get_parameter_display()),
                f"{e.value} {e.unit}".strip(),
                f"{e.alert_limit} / {e.action_limit}",
                str(e.get_level_display()) + (f" ({e.deviation.number})" if e.deviation else ""),
            ]
            for e in record["environment"]
        ],
    )


def _qc_table(spec_rows: list[Any]) -> Table:
    """Each specification with its QC result (missing results say so)."""
    return data_table(
        rows=[[_("Test"), _("Specification"), _("Result"), pgettext("QC test result", "Outcome")]]
        + [
            [
                str(spec.name),
                spec.limit_text(),
                result.value if result else "—",
                str(result.get_outcome_display()) if result else _("Missing"),
            ]
            for spec, result in spec_rows
        ],
        col_widths=[60 * mm, 40 * mm, 40 * mm, 34 * mm],
    )


def _deviations_table(record: dict[str, Any]) -> Table:
    """The lot's deviations with investigation and CAPA."""
    return data_table(
        rows=[[_("Number"), _("Title"), _("Status"), _("Investigation"), _("CAPA")]]
        + [
            [d.number, d.title, str(d.get_status_display()), d.investigation, d.capa]
            for d in record["deviations"]
        ],
    )


def _doses_table(record: dict[str, Any]) -> Table:
    """The bags the lot was filled into."""
    return data_table(
        rows=[[_("Bag"), _("Product code"), _("Cells"), _("Volume"), _("Storage"), _("Status")]]
        + [
            [
                str(d.sequence),
                d.product_code,
                _cells(d.cell_count),
                f"{d.volume_ml} mL",
                d.storage_location or "—",
                str(d.get_status_display()),
            ]
            for d in record["doses"]
        ],
    )


def custody_report_pdf(*, chain: dict[str, Any]) -> bytes:
    """The trail of one dose from collection to bedside, with its breaks and excursions."""
    styles = paragraph_styles()
    dose = chain["dose"]
    verdict = _("Unbroken") if chain["unbroken"] else _("Broken")
    story: list[Any] = [
        Paragraph(escape(_("Chain of custody")), styles["title"]),
        data_table(
            rows=[
                [_("DIN"), dose.din, _("Product code"), dose.product_code],
                [_("Chain of identity"), dose.coi, _("Patient"), dose.patient.patient_code],
                [_("Status"), str(dose.get_status_display()), _("Chain of custody"), str(verdict)],
            ],
            header=False,
            col_widths=[32 * mm, 55 * mm, 32 * mm, 55 * mm],
        ),
        Spacer(1, 4 * mm),
        data_table(
            rows=[
                [
                    _("Time"),
                    _("Hand-over"),
                    _("From"),
                    _("To"),
                    _("Place"),
                    _("Temperature"),
                    _("Recorded by"),
                ]
            ]
            + [
                [
                    _dt(e.occurred_at),
                    str(e.get_stage_display()),
                    e.from_party,
                    e.to_party,
                    e.place,
                    "—"
                    if e.temperature_min_c is None
                    else f"{e.temperature_min_c} … {e.temperature_max_c} °C"
                    + (" !" if e.excursion else ""),
                    str(e.recorded_by),
                ]
                for e in chain["events"]
            ],
        ),
    ]
    for b in chain["breaks"]:
        story.append(Paragraph(escape(str(b["message"])), styles["body"]))
    story.append(
        Paragraph(escape(_("Printed %(at)s") % {"at": _dt(timezone.now())}), styles["small"])
    )
    return build_a4_pdf(
        story=story,
        title=_("Chain of custody %(din)s %(code)s") % {"din": dose.din, "code": dose.product_code},
        header_left=_("Chain of custody"),
        header_right=f"{dose.din} {dose.product_code}",
    )
