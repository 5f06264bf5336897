"""Demo data for treatment: a scan-verified, completed first infusion for the demo course, one
refused scan (another patient's bag) recorded as a near-miss, and one refused scan of a bag from
the same patient's earlier treatment course (its chain-of-identity identifier is not this course's).

Built through the services and idempotent: a course step already given, or a refused check
already recorded for it, is left alone. Shares ``ctx.extra["administration"]``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from saisei.core.demo import DEMO_PASSWORD, DemoContext
from saisei.core.errors import DomainError
from saisei.core.models import Role
from saisei.treatment import services
from saisei.treatment.models import Administration, BedsideVerification


def _course(ctx: DemoContext, patient: Any) -> Any:
    from saisei.journey.models import TreatmentCourse

    course = ctx.extra.get("course")
    if course is not None:
        return course
    return (
        TreatmentCourse.objects.filter(patient=patient, voided_at__isnull=True)
        .exclude(status__in=["stopped"])
        .order_by("-created_at")
        .first()
    )


def _label(dose: Any) -> str:
    return f"={dose.din}{dose.lot.donation.din_flags}=<{dose.product_code}"


def _thaw(ctx: DemoContext, dose: Any, at: dt.datetime) -> Any:
    from saisei.processing.services import dose_thaw

    if dose.status == "thawed":
        return dose
    if dose.status == "shipped":
        from saisei.processing.models import Dose

        # Received at the clinic before the thaw (custody is the CPC's demo; keep it simple).
        Dose.objects.filter(pk=dose.pk, status="shipped").update(status="received")
        dose.refresh_from_db()
    return dose_thaw(
        actor=ctx.user(Role.NURSE), dose=dose, viability_pct=91.5, thawed_at=at, use_within_hours=4
    )


def _earlier_course_bag_refused(ctx: DemoContext) -> None:
    """At the first infusion of Margaret Smith's second course, a bag of her first course is
    scanned: same patient, same infusion number, another course, so the check refuses it."""
    from saisei.journey.models import TreatmentCourse
    from saisei.processing.models import Dose

    patient = ctx.extra.get("second_course_patient")
    if patient is None:
        return
    course = (
        TreatmentCourse.objects.filter(patient=patient, voided_at__isnull=True)
        .exclude(status__in=["stopped", "completed"])
        .first()
    )
    step = (
        course.steps.filter(kind="infusion", number=1, voided_at__isnull=True).first()
        if course is not None
        else None
    )
    if step is None or BedsideVerification.objects.filter(course_step=step).exists():
        return
    bag = (
        Dose.objects.filter(patient=patient, sequence=1)
        .exclude(lot__donation__course=course)
        .select_related("lot", "lot__donation")
        .first()
    )
    if bag is None:
        return
    verification = services.bedside_verify(
        actor=ctx.user(Role.NURSE),
        patient_scan=patient.patient_code,
        product_scans=[_label(bag)],
        course_step=step,
        route=step.route or "iv",
    )
    failed = ", ".join(c["code"] for c in verification.checks if not c["passed"])
    ctx.stdout.write(
        f"  treatment: a bag of {patient}'s earlier course refused at her new course ({failed})\n"
    )


def load(ctx: DemoContext) -> None:
    _earlier_course_bag_refused(ctx)
    doses = list(ctx.extra.get("doses") or [])
    patient = ctx.extra.get("patient") or (doses[0].patient if doses else None)
    if patient is None:
        ctx.stdout.write("  treatment: no demo patient or doses; skipped\n")
        return
    course = _course(ctx, patient)
    step = (
        course.steps.filter(kind="infusion", number=1, voided_at__isnull=True).first()
        if course is not None
        else None
    )
    if step is None:
        ctx.stdout.write("  treatment: the demo patient has no course with infusion 1; skipped\n")
        return
    ctx.extra["infusion_step"] = step
    existing = Administration.objects.filter(course_step=step, voided_at__isnull=True).first()
    if existing is not None:
        ctx.extra["administration"] = existing
        ctx.stdout.write(f"  treatment: infusion 1 already recorded for {patient}\n")
        return
    from saisei.processing.models import Dose

    dose = next((d for d in doses if d.sequence == 1 and d.patient_id == patient.pk), None)
    if dose is None:
        dose = Dose.objects.filter(patient=patient, sequence=1).select_related("lot").first()
    if dose is None:
        ctx.stdout.write("  treatment: no dose 1 for the demo patient; skipped\n")
        return
    nurse, physician = ctx.user(Role.NURSE), ctx.user(Role.PHYSICIAN)
    now = timezone.now()
    checked_at = now - dt.timedelta(minutes=75)
    dose = _thaw(
        ctx,
        Dose.objects.select_related("lot", "lot__donation").get(pk=dose.pk),
        checked_at - dt.timedelta(minutes=15),
    )

    # A refused scan first: the nurse picked up another patient's bag from the shipment.
    wrong = (
        Dose.objects.filter(organisation=ctx.org, status__in=["released", "received"])
        .exclude(patient=patient)
        .select_related("lot", "lot__donation")
        .first()
    )
    if (
        wrong is not None
        and not BedsideVerification.objects.filter(course_step=step, passed=False).exists()
    ):
        services.bedside_verify(
            actor=nurse,
            patient_scan=patient.patient_code,
            product_scans=[_label(wrong)],
            course_step=step,
            route=step.route or "iv",
            at=checked_at - dt.timedelta(minutes=3),
        )

    verification = services.bedside_verify(
        actor=nurse,
        patient_scan=patient.patient_code,
        product_scans=[_label(dose)],
        course_step=step,
        route=step.route or "iv",
        at=checked_at,
    )
    if not verification.passed:
        failed = ", ".join(c["code"] for c in verification.checks if not c["passed"])
        ctx.stdout.write(f"  treatment: demo bedside check refused ({failed}); no infusion\n")
        return
    try:
        administration = services.administration_record(
            actor=nurse,
            verification=verification,
            second_person=physician,
            second_person_password=DEMO_PASSWORD,
            physician=physician,
            rate_ml_per_hour=100,
            started_at=checked_at + dt.timedelta(minutes=4),
            premedication="None",
            vitals_before={
                "systolic_mmhg": 132,
                "diastolic_mmhg": 78,
                "heart_rate_bpm": 72,
                "respiratory_rate": 14,
                "temperature_c": 36.5,
                "spo2_pct": 98,
                "measured_at": checked_at,
            },
        )
    except DomainError as exc:
        ctx.stdout.write(f"  treatment: demo infusion refused ({exc.code})\n")
        return
    services.vital_sign_record(
        actor=nurse,
        administration=administration,
        phase="during",
        measured_at=checked_at + dt.timedelta(minutes=30),
        systolic_mmhg=128,
        diastolic_mmhg=76,
        heart_rate_bpm=76,
        temperature_c=36.8,
        spo2_pct=98,
    )
    services.vital_sign_record(
        actor=nurse,
        administration=administration,
        phase="after",
        measured_at=now - dt.timedelta(minutes=5),
        systolic_mmhg=126,
        diastolic_mmhg=74,
        heart_rate_bpm=74,
        temperature_c=37.1,
        spo2_pct=98,
        notes="Mild flushing of the face during the infusion; resolved.",
    )
    services.administration_complete(
        actor=nurse,
        administration=administration,
        ended_at=now - dt.timedelta(minutes=15),
        observations="Infusion well tolerated apart from transient facial flushing.",
    )
    ctx.extra["administration"] = administration
    ctx.stdout.write(f"  treatment: infusion 1 given to {patient} after a verified scan\n")
