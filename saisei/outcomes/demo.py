"""Demo data for outcomes: references, rater credentials, the demo patient's baseline, and a small
synthetic cohort on the demo plan with dropouts and missed visits, so the cohort page has content.
Two cohort patients were staged MCI at pre-screening and are compared with the MCI natural
history; one was never staged (no test score yet) and gets no expected course at all.

Idempotent: patients are looked up by name and date of birth, schedules by course, assessments
by visit; everything is created through services. Scores are synthetic (seeded), never real data.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from saisei.core.demo import DEMO_PASSWORD, DemoContext
from saisei.core.models import Role
from saisei.outcomes import services
from saisei.outcomes.models import (
    Assessment,
    AssessmentSchedule,
    BiomarkerDefinition,
    BiomarkerResult,
    RaterCredential,
    ScheduledAssessment,
)

LICENSED = ("MMSE", "CDR", "MOCA", "NPI-Q")

# Pre-screen scores per profile: the stage journey records, which picks the natural history.
PRESCREEN_SCORES: dict[str, dict[str, str]] = {
    "mild": {"mmse": "22", "cdr_global": "1"},
    "mci": {"cdr_global": "0.5", "cdr_sb": "2.5"},
    "unstaged": {},  # referred on documents only; no test score recorded yet
}
# Synthetic starting scores and yearly change per profile (MCI declines more slowly).
PROFILE_SCORES: dict[str, tuple[list[int], list[float], float, float]] = {
    "mild": ([20, 21, 22, 23, 24, 25], [3.0, 3.5, 4.0, 4.5, 5.0, 6.0], -2.0, 1.4),
    "mci": ([26, 27, 28], [1.0, 1.5, 2.0, 2.5], -1.0, 0.6),
}

# (given name, family name, year of birth, sex, language, days since harvest, fate[, profile])
COHORT = [
    ("Hiroko", "Demo-Abe", 1948, "female", "ja", 560, "complete"),
    ("Kenta", "Demo-Baba", 1951, "male", "ja", 530, "complete"),
    ("Grace", "Demo-Chan", 1950, "female", "en", 500, "dropout_care"),
    ("Tomasz", "Demo-Duda", 1946, "male", "en", 470, "complete"),
    ("Ying", "Demo-Evans", 1953, "female", "zh-hans", 440, "missed_6m"),
    ("Sachiko", "Demo-Fujii", 1949, "female", "ja", 410, "complete"),
    ("Robert", "Demo-Gray", 1947, "male", "en", 380, "dropout_died"),
    ("Mariko", "Demo-Hara", 1952, "female", "ja", 330, "complete"),
    ("Ahmed", "Demo-Iqbal", 1950, "male", "en", 280, "missed_3m"),
    ("Li", "Demo-Jin", 1954, "female", "zh-hans", 220, "complete"),
    ("Noriko", "Demo-Kato", 1945, "female", "ja", 160, "complete"),
    ("Aiko", "Demo-Mori", 1955, "female", "ja", 400, "complete", "mci"),
    ("David", "Demo-Nash", 1952, "male", "en", 300, "complete", "mci"),
    # Harvest booked in twelve days (a negative "days since"): baseline not due yet.
    ("Peter", "Demo-Lund", 1950, "male", "en", -12, "complete", "unstaged"),
]


def _profile(row: tuple[Any, ...]) -> str:
    return row[7] if len(row) > 7 else "mild"


DROPOUTS = {
    "dropout_care": (200, "Moved into residential care; family stopped travelling to Japan."),
    "dropout_died": (150, "Died (pneumonia, judged unrelated); reported to the safety module."),
}


def _credentials(ctx: DemoContext) -> None:
    admin = ctx.user(Role.ORG_ADMIN)
    for role in (Role.PHYSICIAN, Role.NURSE):
        user = ctx.user(role)
        for code in LICENSED if role == Role.PHYSICIAN else ("MMSE", "MOCA"):
            if RaterCredential.objects.filter(user=user, instrument=code).exists():
                continue
            services.credential_record(
                actor=admin,
                user=user,
                instrument=code,
                kind="certification" if code == "MOCA" else "licence",
                reference=f"DEMO-{code}-{user.username.upper()}",
                holder="Saisei Demo Clinic" if code != "MOCA" else user.username,
                valid_from=ctx.today - dt.timedelta(days=700),
                expires_on=ctx.today + dt.timedelta(days=365),
            )


def _record(
    rater: Any,
    patient: Any,
    visit: ScheduledAssessment | None,
    instrument: str,
    values: dict[str, Any],
    on: dt.date,
) -> None:
    exists = Assessment.objects.filter(
        patient=patient, instrument=instrument, assessed_on=on, voided_at__isnull=True
    ).exists()
    if exists:
        return
    services.assessment_record(
        actor=rater,
        patient=patient,
        instrument=instrument,
        values=values,
        assessed_on=on,
        visit=visit if visit is not None and visit.status == "planned" else None,
    )


def _half(x: float) -> float:
    return round(x * 2) / 2


def _scores(
    rng: random.Random, base: dict[str, float], slopes: dict[str, float], years: float
) -> dict[str, Any]:
    mmse = round(min(30, max(0, base["mmse"] + slopes["mmse"] * years + rng.gauss(0, 1.2))))
    cdr = _half(min(18, max(0, base["cdr"] + slopes["cdr"] * years + rng.gauss(0, 0.5))))
    glob = 0.5 if cdr <= 4 else 1.0 if cdr <= 9 else 2.0
    return {"MMSE": {"total": mmse}, "CDR": {"total": cdr, "global": glob}}


def _main_patient(ctx: DemoContext, patient: Any, course: Any) -> None:
    physician = ctx.user(Role.PHYSICIAN)
    schedule = AssessmentSchedule.objects.filter(course=course).first()
    if schedule is None:
        schedule = services.schedule_create(actor=physician, course=course)
    baseline = schedule.visits.filter(kind="baseline").first()
    # Baseline before the harvest, and at the latest the day before the first infusion.
    yesterday = ctx.today - dt.timedelta(days=1)
    on = min(baseline.due_date, yesterday) if baseline else ctx.today - dt.timedelta(days=45)
    screening = on - dt.timedelta(days=30)
    _record(physician, patient, None, "MMSE", {"total": 22}, screening)
    _record(physician, patient, baseline, "MMSE", {"total": 21}, on)
    _record(
        physician,
        patient,
        None,
        "CDR",
        {
            "memory": 1,
            "orientation": 1,
            "judgement": 0.5,
            "community": 1,
            "home_hobbies": 1,
            "personal_care": 0,
            "global": 1,
        },
        on,
    )
    _record(physician, patient, None, "NPI-Q", {"total": 5, "distress_total": 7}, on)
    if not Assessment.objects.filter(patient=patient, instrument="DIARY").exists():
        services.diary_submit(
            patient=patient,
            values={
                "sleep": 2,
                "agitation": 1,
                "evening_confusion": 2,
                "recognition": 1,
                "engagement": 1,
            },
            answered_by="Wei Lin (daughter)",
            language="en",
            assessed_on=on + dt.timedelta(days=1),
        )
    for code, value in (("PTAU217", 0.52), ("NFL", 31.4), ("GFAP", 182.0), ("AB4240", 0.148)):
        definition = BiomarkerDefinition.objects.filter(organisation=ctx.org, code=code).first()
        if (
            definition
            and not BiomarkerResult.objects.filter(patient=patient, definition=definition).exists()
        ):
            services.biomarker_record(
                actor=physician,
                patient=patient,
                definition=definition,
                value=value,
                collected_on=on - dt.timedelta(days=1),
                lab="Demo Clinical Laboratory",
                assay="CLEIA (Lumipulse)" if code in ("PTAU217", "AB4240") else "Simoa",
            )


def _cohort_patient(ctx: DemoContext, row: tuple[Any, ...], package: Any, doctor: Any) -> Any:
    from saisei.journey import services as journey
    from saisei.journey.models import Patient, Prescreen, TreatmentCourse

    given, family, year, sex, language, days_ago = row[:6]
    coordinator = ctx.user(Role.COORDINATOR)
    physician = ctx.user(Role.PHYSICIAN)
    dob = dt.date(year, 4, 1)
    patient = Patient.objects.filter(
        organisation=ctx.org, family_name=family, given_name=given, date_of_birth=dob
    ).first()
    if patient is None:
        patient = journey.patient_enrol(
            actor=coordinator,
            family_name=family,
            given_name=given,
            date_of_birth=dob,
            sex=sex,
            language=language,
            country="Japan" if language == "ja" else "Singapore",
        )
    if not patient.diagnosis_code:
        patient = journey.patient_diagnosis_set(
            actor=physician, patient=patient, code="G30", text="Alzheimer's disease, mild"
        )
    plan = package.plan
    if not Prescreen.objects.filter(patient=patient, plan=plan).exists():
        ps = journey.prescreen_record(
            actor=coordinator,
            patient=patient,
            plan=plan,
            answers={
                "diagnosis_confirmed": True,
                "diagnosis_basis": "amyloid_pet",
                "scores": PRESCREEN_SCORES[_profile(row)],
                "can_consent": True,
                "legal_proxy": False,
                "contraindications": {
                    "active_malignancy": False,
                    "active_infection": False,
                    "anticoagulation_cannot_pause": False,
                    "pregnancy": False,
                    "severe_cardiopulmonary_disease": False,
                },
                "infection_tests": dict.fromkeys(
                    ("hbv", "hcv", "hiv", "syphilis", "htlv1"), "negative"
                ),
                "age": ctx.today.year - year,
            },
        )
        journey.prescreen_decide(
            actor=physician,
            prescreen_obj=ps,
            decision="eligible",
            note="Synthetic demo patient."
            if _profile(row) != "unstaged"
            else "Synthetic demo patient; amyloid PET positive, scores to be taken at the clinic.",
            password=DEMO_PASSWORD,
        )
    course = TreatmentCourse.objects.filter(patient=patient, plan=plan).first()
    if course is None:
        course = journey.course_instantiate(
            actor=coordinator,
            patient=patient,
            package=package,
            harvest_date=ctx.today - dt.timedelta(days=days_ago),
            physician=doctor,
            facility=ctx.extra.get("facility"),
        )
    return course


def _fill_cohort_course(ctx: DemoContext, index: int, row: tuple[Any, ...], course: Any) -> None:
    physician, nurse = ctx.user(Role.PHYSICIAN), ctx.user(Role.NURSE)
    fate, profile = row[6], _profile(row)
    schedule = AssessmentSchedule.objects.filter(course=course).first()
    if schedule is None:
        # No stage given: the course follows the stage the pre-screen recorded (none: unstaged).
        schedule = services.schedule_create(actor=physician, course=course)
    if profile == "unstaged":
        _unstaged_diary(ctx, course.patient, schedule)
        return
    rng = random.Random(1000 + index)
    mmse_choices, cdr_choices, mmse_slope, cdr_slope = PROFILE_SCORES[profile]
    base = {"mmse": rng.choice(mmse_choices), "cdr": rng.choice(cdr_choices)}
    slopes = {"mmse": rng.gauss(mmse_slope, 1.3), "cdr": rng.gauss(cdr_slope, 0.8)}
    visits = list(schedule.visits.order_by("due_date"))
    start = visits[0].due_date
    dropout = DROPOUTS.get(fate)
    end_on = start + dt.timedelta(days=dropout[0]) if dropout else None
    for v in visits:
        if v.due_date > ctx.today or v.status != "planned":
            continue
        if end_on and v.due_date >= end_on:
            break
        if (fate == "missed_6m" and (v.kind, v.number) == ("follow_up", 6)) or (
            fate == "missed_3m" and (v.kind, v.number) == ("follow_up", 3)
        ):
            services.visit_mark_missed(
                actor=physician,
                visit=v,
                reason="Could not travel (flight cancelled)"
                if fate == "missed_6m"
                else "Too unwell on the day",
            )
            continue
        years = (v.due_date - start).days / 365.25
        scores = _scores(rng, base, slopes, years)
        rater = physician if index % 3 else nurse
        _record(physician, course.patient, v, "CDR", scores["CDR"], v.due_date)
        _record(rater, course.patient, None, "MMSE", scores["MMSE"], v.due_date)
    if dropout and end_on and schedule.follow_up_ended_on is None and end_on <= ctx.today:
        services.schedule_end_follow_up(
            actor=physician, schedule=schedule, ended_on=end_on, reason=dropout[1]
        )


def _unstaged_diary(ctx: DemoContext, patient: Any, schedule: AssessmentSchedule) -> None:
    """Two caregiver diary entries: the page shows them with no expected course, and says why."""
    if Assessment.objects.filter(patient=patient, instrument="DIARY").exists():
        return
    for days_ago, sleep in ((14, 2), (0, 1)):
        on = ctx.today - dt.timedelta(days=days_ago)
        services.diary_submit(
            patient=patient,
            values={
                "sleep": sleep,
                "agitation": 1,
                "evening_confusion": 1,
                "recognition": 0,
                "engagement": 1,
            },
            answered_by="Anna Lund (wife)",
            language="en",
            assessed_on=on,
        )


def load(ctx: DemoContext) -> None:
    services.references_seed_defaults(actor=None, organisation=ctx.org)
    _credentials(ctx)
    patient, course = ctx.extra.get("patient"), ctx.extra.get("course")
    if patient is None or course is None:
        ctx.stdout.write("outcomes: references and credentials only (no demo course)\n")
        return
    _main_patient(ctx, patient, course)
    package = ctx.extra.get("package_alz")
    n = 0
    if package is not None:
        from saisei.regulatory.models import Physician

        doctor = Physician.objects.filter(user=ctx.user(Role.PHYSICIAN)).first()
        for i, row in enumerate(COHORT):
            cohort_course = _cohort_patient(ctx, row, package, doctor)
            _fill_cohort_course(ctx, i, row, cohort_course)
            n += 1
    ctx.extra["outcomes_plan"] = course.plan
    ctx.stdout.write(
        f"outcomes: baseline for {patient.patient_code}, {n} synthetic cohort patients, "
        f"{Assessment.objects.filter(organisation=ctx.org).count()} assessments\n"
    )
