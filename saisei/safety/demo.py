"""Demo data for safety: one serious adverse event with open reporting obligations, and one
caregiver report waiting in the triage queue.

The event follows the most recent harvest (an infection at the liposuction site, admitted for
intravenous antibiotics): its onset is after the harvest it follows, and it holds no lot, so the
infusion due today stays possible. No infusion is recorded before the demo loads (every release
is signed when it loads), so no event in the demo follows an infusion.

Built through the services and idempotent: events and reports are looked up by patient and text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from saisei.core.demo import DemoContext
from saisei.core.errors import DomainError
from saisei.core.models import Role
from saisei.core.timezones import TOKYO
from saisei.safety import services
from saisei.safety.models import AdverseEvent, PatientReport

SERIOUS_TERM = "Infection at the liposuction site, admitted for intravenous antibiotics"
REPORT_TEXT = (
    "Since yesterday evening my father has had a headache and seems more confused than usual. "
    "He has no fever."
)


def _harvest(ctx: DemoContext) -> Any:
    return ctx.extra.get("recent_harvest")


def _serious_event(ctx: DemoContext, donation: Any) -> None:
    patient = donation.patient
    if AdverseEvent.objects.filter(patient=patient, term=SERIOUS_TERM).exists():
        return
    harvest_day = donation.collected_at.astimezone(TOKYO).date()
    physician = ctx.user(Role.PHYSICIAN)
    aware = dt.datetime.combine(harvest_day + dt.timedelta(days=3), dt.time(18), TOKYO)
    try:
        event = services.adverse_event_record(
            actor=physician,
            patient=patient,
            term=SERIOUS_TERM,
            vocabulary_code="wound_infection",
            onset_date=harvest_day + dt.timedelta(days=2),
            aware_at=aware,
            severity_grade=3,
            hospitalisation=True,
            plan=donation.plan,
            related_harvest="probable",
            related_cells="not_related",
            related_administration="not_related",
            description=(
                "Redness, swelling and pain around the abdominal cannula sites two days after "
                "the lipoaspiration, temperature 38.4 °C; admitted for intravenous antibiotics."
            ),
            action_taken="Cefazolin IV; wound swab; admitted for observation.",
            outcome="recovering",
        )
        services.adverse_event_follow_up(
            actor=physician,
            event=event,
            note="Swab grew Staphylococcus aureus (MSSA); afebrile after 36 hours of antibiotics.",
            outcome="recovering",
        )
    except DomainError as exc:
        ctx.stdout.write(f"  safety: demo adverse event refused ({exc.code})\n")


def _official_forms(ctx: DemoContext, patient: Any) -> None:
    """The Alzheimer plan's first periodic report, assembled once every app's records exist and
    heard by the committee, and the forms filed from the demo (the plan form and the serious
    event's committee report), so the official-forms page shows generated documents."""
    from saisei.regulatory import services as regulatory_services
    from saisei.regulatory.models import FiledDocument, PeriodicReport

    plan = ctx.extra.get("plan_alz")
    if plan is None:
        return
    officer = ctx.user(Role.COMPLIANCE_OFFICER)
    report = PeriodicReport.objects.filter(plan=plan, period_index=1).first()
    if report is None:
        try:
            report = regulatory_services.periodic_report_assemble(
                actor=officer, plan=plan, period_index=1
            )
            regulatory_services.periodic_report_record_review(
                actor=officer,
                report=report,
                review_date=ctx.today - dt.timedelta(days=2),
                opinion="適切に実施されている。継続して差し支えない。",
            )
        except DomainError as exc:
            ctx.stdout.write(f"  safety: demo periodic report refused ({exc.code})\n")
    if FiledDocument.objects.filter(organisation=ctx.org).exists():
        return
    event = AdverseEvent.objects.filter(patient=patient, term=SERIOUS_TERM).first()
    version = plan.versions.order_by("number").first()
    for code, subject in (("plan", version), ("ae_committee", event)):
        if subject is None:
            continue
        try:
            regulatory_services.filed_document_generate(
                actor=officer, form_code=code, subject_id=str(subject.external_id)
            )
        except DomainError as exc:
            ctx.stdout.write(f"  safety: demo form {code} refused ({exc.code})\n")


def load(ctx: DemoContext) -> None:
    donation = _harvest(ctx)
    if donation is None:
        ctx.stdout.write("  safety: no recent demo harvest; skipped\n")
        return
    _serious_event(ctx, donation)
    patient = donation.patient
    if not PatientReport.objects.filter(patient=patient, description=REPORT_TEXT).exists():
        services.patient_report_submit(
            patient=patient,
            reporter="caregiver",
            reporter_name="Tanaka Yuki (daughter)",
            contact="+81 90 1234 5678",
            started_on=ctx.today - dt.timedelta(days=1),
            description=REPORT_TEXT,
            how_bad="moderate",
            language="en",
        )
    _official_forms(ctx, patient)
    ctx.stdout.write(
        f"  safety: {AdverseEvent.objects.filter(organisation=ctx.org).count()} adverse events, "
        f"{PatientReport.objects.filter(organisation=ctx.org, status='new').count()} "
        "patient reports waiting\n"
    )
