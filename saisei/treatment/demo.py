"""Demo data for treatment: the demo patient's first infusion is due on the day the demo is
loaded and is left for the nurse and physician to give at the bedside; this morning a bag of
another patient was scanned for it and refused, and that near-miss is on record.

Nothing is infused by the demo: every lot is released by QA's signature when the demo loads,
so an infusion recorded before that moment would precede its release. Built through the
services and idempotent: a refused check already recorded for the step is left alone.
"""

from __future__ import annotations

from typing import Any

from saisei.core.demo import DemoContext
from saisei.core.models import Role
from saisei.treatment import services
from saisei.treatment.models import BedsideVerification


def _label(dose: Any) -> str:
    return f"={dose.din}{dose.lot.donation.din_flags}=<{dose.product_code}"


def _due_step(ctx: DemoContext) -> Any:
    course = ctx.extra.get("course")
    if course is None:
        return None
    return course.steps.filter(
        kind="infusion", planned_date=ctx.today, voided_at__isnull=True
    ).first()


def _wrong_bag_refused(ctx: DemoContext, step: Any) -> None:
    """The nurse picked up another patient's released bag; the check refused it (a near-miss)."""
    from saisei.processing.models import Dose

    patient = step.course.patient
    if BedsideVerification.objects.filter(course_step=step, passed=False).exists():
        return
    wrong = (
        Dose.objects.filter(organisation=ctx.org, status__in=["released", "received"])
        .exclude(patient=patient)
        .select_related("lot", "lot__donation")
        .order_by("pk")
        .first()
    )
    if wrong is None:
        return
    services.bedside_verify(
        actor=ctx.user(Role.NURSE),
        patient_scan=patient.patient_code,
        product_scans=[_label(wrong)],
        course_step=step,
        route=step.route or "iv",
    )
    ctx.stdout.write(f"  treatment: another patient's bag refused at {patient}'s bedside\n")


def load(ctx: DemoContext) -> None:
    step = _due_step(ctx)
    if step is None:
        ctx.stdout.write("  treatment: no infusion due today in the demo course; skipped\n")
        return
    ctx.extra["infusion_step"] = step
    _wrong_bag_refused(ctx, step)
    ctx.stdout.write(
        f"  treatment: infusion {step.number} of {step.course.patient} is due today "
        "(sign in as nurse: Today's infusions)\n"
    )
