"""Demo data for safety: one serious adverse event with open reporting obligations (linked to the
demo infusion and lot when they exist), and one patient report waiting in the triage queue.

Built through the services and idempotent: events and reports are looked up by patient and text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from saisei.core.demo import DemoContext
from saisei.core.errors import DomainError
from saisei.core.models import Role
from saisei.safety import services
from saisei.safety.models import AdverseEvent, PatientReport

SERIOUS_TERM = "Fever with chills after infusion, admitted for observation"
REPORT_TEXT = (
    "Since yesterday evening my father has had a headache and seems more confused than usual. "
    "He has no fever."
)


def _patient(ctx: DemoContext) -> Any:
    administration = ctx.extra.get("administration")
    if administration is not None:
        return administration.patient
    if ctx.extra.get("patient") is not None:
        return ctx.extra["patient"]
    doses = ctx.extra.get("doses") or []
    return doses[0].patient if doses else None


def load(ctx: DemoContext) -> None:
    patient = _patient(ctx)
    if patient is None:
        ctx.stdout.write("  safety: no demo patient; skipped\n")
        return
    administration = ctx.extra.get("administration")
    physician = ctx.user(Role.PHYSICIAN)
    if not AdverseEvent.objects.filter(patient=patient, term=SERIOUS_TERM).exists():
        aware = timezone.now() - dt.timedelta(days=2, hours=3)
        try:
            event = services.adverse_event_record(
                actor=physician,
                patient=patient,
                term=SERIOUS_TERM,
                vocabulary_code="fever",
                onset_date=(aware - dt.timedelta(hours=6)).date(),
                aware_at=aware,
                severity_grade=3,
                hospitalisation=True,
                plan=None if administration is not None else ctx.extra.get("plan_alz"),
                administration=administration,
                lot=None if administration is not None else ctx.extra.get("lot"),
                related_harvest="unlikely",
                related_cells="possible",
                related_administration="possible",
                description=(
                    "Temperature 38.9 °C with chills six hours after the infusion; admitted "
                    "overnight for observation and blood cultures."
                ),
                action_taken="Paracetamol; blood cultures; overnight observation.",
                outcome="recovering",
            )
            services.adverse_event_follow_up(
                actor=physician,
                event=event,
                note="Blood cultures negative at 48 hours; afebrile since the next morning.",
                outcome="recovering",
            )
        except DomainError as exc:
            ctx.stdout.write(f"  safety: demo adverse event refused ({exc.code})\n")
    if not PatientReport.objects.filter(patient=patient, description=REPORT_TEXT).exists():
        services.patient_report_submit(
            patient=patient,
            reporter="caregiver",
            reporter_name="Lin Wei (son)",
            contact="+65 8123 4567",
            started_on=ctx.today - dt.timedelta(days=1),
            description=REPORT_TEXT,
            how_bad="moderate",
            language="en",
        )
    ctx.stdout.write(
        f"  safety: {AdverseEvent.objects.filter(organisation=ctx.org).count()} adverse events, "
        f"{PatientReport.objects.filter(organisation=ctx.org, status='new').count()} "
        "patient reports waiting\n"
    )
