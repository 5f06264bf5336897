"""Adverse-event report drafts: structured data and PDF in Japanese or English, and lot impact.

The content follows what the committee form (別紙様式第1, Enforcement Regulation Art. 35) and
the ministry form (別紙様式第2, Art. 36) ask for, as far as the facts sheet describes them:
the plan, the institution, the patient (coded), the event, its seriousness, causality, outcome,
the cells and their administration, and the action taken. Staff complete and sign the official
form; this is the draft that gathers the record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import translation
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext as _

from saisei.core import display, numbers
from saisei.core.timezones import TOKYO
from saisei.safety.models import SERIOUSNESS_FIELDS, AdverseEvent, AdverseEventFollowUp

FORM_COMMITTEE = "ASRM Enforcement Regulation Art. 35 (別紙様式第1)"
FORM_MINISTRY = "ASRM Enforcement Regulation Art. 36 (別紙様式第2)"


def _local(value: dt.datetime | None) -> str:
    return value.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M") if value else ""


def _age(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def adverse_event_report_data(
    *, event: AdverseEvent, follow_up: AdverseEventFollowUp | None = None
) -> dict[str, Any]:
    """The report as structured data (JSON-safe), the same content the PDF prints."""
    patient = event.patient
    plan = event.plan
    institution = getattr(plan, "institution", None)
    adm = event.administration
    dose = event.dose
    lot = event.lot
    follow_ups = list(event.follow_ups.filter(voided_at__isnull=True).order_by("number"))
    return {
        "form": {"committee": FORM_COMMITTEE, "ministry": FORM_MINISTRY},
        "report_kind": "follow_up" if follow_up else "initial",
        "follow_up_number": follow_up.number if follow_up else None,
        "event_number": event.number,
        "plan": {
            "plan_number": getattr(plan, "plan_number", "") or "",
            "title": getattr(plan, "title", "") or "",
            "risk_class": getattr(plan, "risk_class", None),
        },
        "institution": {
            "name": getattr(institution, "name", "") or "",
            "name_ja": getattr(institution, "name_ja", "") or "",
            "administrator": getattr(institution, "administrator_name", "") or "",
        },
        "patient": {
            "code": patient.patient_code,
            "sex": patient.sex,
            "age_at_onset": _age(patient.date_of_birth, event.onset_date),
            "weight_kg": float(patient.weight_kg) if patient.weight_kg else None,
        },
        "event": {
            "term": event.term,
            "vocabulary_code": event.vocabulary_code,
            "meddra_code": event.meddra_code,
            "description": event.description,
            "onset_date": event.onset_date.isoformat(),
            "aware_at": _local(event.aware_at),
            "severity_grade": event.severity_grade,
            "serious": event.serious,
            "seriousness_criteria": event.seriousness_criteria,
            "reporting_category": event.reporting_level,
            "relatedness": {
                "harvest": event.related_harvest,
                "cells": event.related_cells,
                "administration": event.related_administration,
            },
            "action_taken": event.action_taken,
            "outcome": event.outcome,
            "source": event.source,
        },
        "treatment": {
            "administration_number": adm.number if adm else None,
            "route": adm.route if adm else None,
            "started_at": _local(adm.started_at) if adm else "",
            "cells_given": adm.cells_given if adm else None,
            "cells_per_kg": adm.cells_per_kg if adm else None,
            "rate_ml_per_hour": adm.rate_ml_per_hour if adm else None,
            "dose": f"{dose.din} {dose.product_code}" if dose else "",
            "lot": lot.number if lot else "",
        },
        "follow_ups": [
            {
                "number": f.number,
                "recorded_at": _local(f.recorded_at),
                "note": f.note,
                "outcome": f.outcome,
            }
            for f in follow_ups
        ],
        "recorded_by": str(event.recorded_by),
        "assessed_by": str(event.assessed_by) if event.assessed_by else "",
    }


def lot_impact(*, event: AdverseEvent) -> list[dict[str, Any]]:
    """Every other dose of the event's lot and where it is now, so the CPC and physicians can act."""
    if event.lot_id is None:
        return []
    from saisei.processing.selectors import live_doses_of_lot

    doses = live_doses_of_lot(lot_id=event.lot_id)
    if event.dose_id is not None:
        doses = doses.exclude(pk=event.dose_id)
    out = []
    for d in doses:
        if d.status in ("quarantine", "released"):
            where = d.storage_location or _("CPC storage")
        elif d.status in ("shipped",):
            where = _("In transit to the clinic")
        elif d.status in ("received", "thawed"):
            where = _("At the clinic")
        elif d.status == "administered":
            where = _("Given on %(date)s") % {"date": _local(d.administered_at)}
        elif d.status == "on_hold":
            where = d.storage_location or _("where it was when held")
        else:
            where = d.get_status_display()
        out.append(
            {
                "dose": f"{d.din} {d.product_code}",
                "sequence": d.sequence,
                "status": d.status,
                "status_display": str(d.get_status_display()),
                "where": str(where),
                "patient": d.patient.patient_code,
                "external_id": str(d.external_id),
            }
        )
    return out


def _t(msgid: str) -> str:
    """A stored msgid (a choice label) in the active language."""
    return gettext(msgid)


def _relatedness_label(value: str) -> str:
    from saisei.safety.models import Relatedness

    return _t(str(dict(Relatedness.choices).get(value, value)))


def adverse_event_report_pdf(
    *, event: AdverseEvent, language: str = "ja", follow_up: AdverseEventFollowUp | None = None
) -> bytes:
    """Render the draft report as an A4 PDF in Japanese or English."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer

    from saisei.core.pdf import build_a4_pdf, data_table, escape, paragraph_styles

    data = adverse_event_report_data(event=event, follow_up=follow_up)
    with translation.override(language):
        styles = paragraph_styles()
        title = (
            _t("Adverse event follow-up report %(n)d (draft)") % {"n": follow_up.number}
            if follow_up
            else _t("Adverse event report (draft)")
        )
        story: list[Any] = [
            Paragraph(escape(title), styles["title"]),
            Paragraph(
                escape(
                    _t(
                        "Draft for the certified committee and the ministry forms; check and sign "
                        "the official form before sending."
                    )
                ),
                styles["small"],
            ),
            Spacer(1, 4 * mm),
            Paragraph(escape(_t("Plan and institution")), styles["heading"]),
            data_table(
                rows=_ae_plan_rows(data),
                col_widths=[50 * mm, 120 * mm],
                header=False,
            ),
            Paragraph(escape(_t("Patient")), styles["heading"]),
            data_table(
                rows=[
                    [_t("Patient code"), data["patient"]["code"]],
                    [_t("Sex"), _t(str(event.patient.get_sex_display()))],
                    [_t("Age at onset"), str(data["patient"]["age_at_onset"])],
                ],
                col_widths=[50 * mm, 120 * mm],
                header=False,
            ),
            Paragraph(escape(_t("Event")), styles["heading"]),
            data_table(
                rows=_ae_event_rows(data, event),
                col_widths=[50 * mm, 120 * mm],
                header=False,
            ),
            Paragraph(escape(_t("Cells and administration")), styles["heading"]),
            data_table(
                rows=_ae_treatment_rows(data),
                col_widths=[50 * mm, 120 * mm],
                header=False,
            ),
        ]
        if data["follow_ups"]:
            story.append(Paragraph(escape(_t("Follow-up information")), styles["heading"]))
            story.append(
                data_table(
                    rows=[[_t("No."), _t("Recorded at"), _t("New information")]]
                    + [[str(f["number"]), f["recorded_at"], f["note"]] for f in data["follow_ups"]],
                    col_widths=[15 * mm, 40 * mm, 115 * mm],
                )
            )
        return build_a4_pdf(
            story=story,
            title=str(title),
            header_left=data["event_number"],
            header_right=str(_t("Adverse event report (draft)")),
            footer_left=f"{FORM_COMMITTEE}; {FORM_MINISTRY}",
        )


def _ae_plan_rows(data: dict[str, Any]) -> list[list[Any]]:
    """The plan and the institution that provides it."""
    return [
        [_t("Event number"), data["event_number"]],
        [_t("Plan number"), data["plan"]["plan_number"] or "—"],
        [_t("Treatment"), data["plan"]["title"]],
        [
            _t("Medical institution"),
            data["institution"]["name_ja"] or data["institution"]["name"],
        ],
        [_t("Administrator"), data["institution"]["administrator"]],
    ]


def _ae_event_rows(data: dict[str, Any], event: AdverseEvent) -> list[list[Any]]:
    """The event: term, dates, grade, seriousness, causality, action and outcome."""
    criteria = dict(SERIOUSNESS_FIELDS)
    crit_labels = [
        _t(str(getattr(AdverseEvent._meta.get_field(name), "verbose_name", name)))
        for name in data["event"]["seriousness_criteria"]
        if name in criteria
    ]
    ev = data["event"]
    return [
        [_t("Event term"), ev["term"]],
        [_t("MedDRA code"), ev["meddra_code"] or "—"],
        [_t("Onset date"), ev["onset_date"]],
        [_t("Clinic became aware at"), ev["aware_at"]],
        [_t("Severity grade (1–5)"), str(ev["severity_grade"])],
        [_t("Serious"), ", ".join(crit_labels) if crit_labels else _t("No")],
        [
            _t("Related to the harvest"),
            _relatedness_label(ev["relatedness"]["harvest"]),
        ],
        [_t("Related to the cells"), _relatedness_label(ev["relatedness"]["cells"])],
        [
            _t("Related to the administration"),
            _relatedness_label(ev["relatedness"]["administration"]),
        ],
        [_t("What happened"), ev["description"] or "—"],
        [_t("Action taken"), ev["action_taken"] or "—"],
        [pgettext("adverse event", "Outcome"), _t(str(event.get_outcome_display()))],
    ]


def _ae_treatment_rows(data: dict[str, Any]) -> list[list[Any]]:
    """The administration, dose and lot the event followed."""
    tr = data["treatment"]
    return [
        [_t("Administration number"), str(tr["administration_number"] or "—")],
        [_t("Route"), display.route_label(tr["route"])],
        [_t("Started at"), tr["started_at"] or "—"],
        [_t("Cells given"), numbers.cells(tr["cells_given"])],
        [_t("Dose"), tr["dose"] or "—"],
        [_t("Lot"), tr["lot"] or "—"],
    ]
