"""Bind existing harvests to their treatment course and give each course its own CoI identifier.

Before this change a patient's later harvests reused the CoI of their first one, whatever the
course. Here, in the order the identifiers were issued:

1. each unbound donation is bound to its course when that course is certain: the only course of
   the patient (under the donation's plan, when it has one), or the only one of several whose
   harvest step is dated on the collection day. Anything else stays unbound, and every identity
   check refuses it until QA binds it (``donation_course_bind``), never a guess;
2. each course with donations gets one identifier: the one its first harvest already carries,
   unless an earlier course claimed it, in which case one built from the first harvest's own DIN
   (``CH`` + DIN is the DS040 layout the harvest service issues);
3. the course's donations and their bags take that identifier.

Idempotent: bound donations and issued identities are kept, so a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from django.db import migrations

TOKYO = ZoneInfo("Asia/Tokyo")


def _course_for(donation, TreatmentCourse, CourseStep):
    courses = list(
        TreatmentCourse.objects.filter(
            organisation_id=donation.organisation_id,
            patient_id=donation.patient_id,
            voided_at__isnull=True,
        ).order_by("pk")
    )
    if donation.plan_id is not None:
        courses = [c for c in courses if c.plan_id == donation.plan_id]
    if len(courses) <= 1:
        return courses[0] if courses else None
    day = donation.collected_at.astimezone(TOKYO).date()
    matches = []
    for course in courses:
        for step in CourseStep.objects.filter(course=course, kind="harvest", voided_at__isnull=True):
            done = step.done_at.astimezone(TOKYO).date() if step.done_at else None
            if day in (step.planned_date, done):
                matches.append(course)
                break
    return matches[0] if len(matches) == 1 else None


def bind_and_issue(apps, schema_editor):
    Donation = apps.get_model("processing", "Donation")
    Dose = apps.get_model("processing", "Dose")
    ChainOfIdentity = apps.get_model("processing", "ChainOfIdentity")
    TreatmentCourse = apps.get_model("journey", "TreatmentCourse")
    CourseStep = apps.get_model("journey", "CourseStep")

    for donation in Donation.objects.filter(course__isnull=True).order_by("pk"):
        course = _course_for(donation, TreatmentCourse, CourseStep)
        if course is not None:
            Donation.objects.filter(pk=donation.pk).update(course_id=course.pk)

    by_course: dict[int, list] = {}
    for donation in Donation.objects.filter(course__isnull=False).order_by("pk"):
        by_course.setdefault(donation.course_id, []).append(donation)
    taken = set(ChainOfIdentity.objects.values_list("coi", flat=True))
    # Courses in the order their first harvest was recorded: the course that issued an
    # identifier first keeps it.
    for course_id, donations in sorted(by_course.items(), key=lambda kv: kv[1][0].pk):
        identity = ChainOfIdentity.objects.filter(course_id=course_id).first()
        if identity is None:
            first = donations[0]
            candidates = [first.coi] + [f"CH{d.din}" for d in donations]
            coi = next((c for c in candidates if len(c or "") == 15 and c not in taken), None)
            if coi is None:
                continue  # no identifier can be proven unique: the donations stay refused
            identity = ChainOfIdentity.objects.create(
                external_id=uuid.uuid4(),
                created_at=dt.datetime.now(dt.UTC),
                organisation_id=first.organisation_id,
                course_id=course_id,
                patient_id=first.patient_id,
                coi=coi,
            )
        taken.add(identity.coi)
        for donation in donations:
            if donation.patient_id != identity.patient_id:
                continue  # a course is one patient's; never relabel another patient's harvest
            Donation.objects.filter(pk=donation.pk).exclude(coi=identity.coi).update(
                coi=identity.coi
            )
            Dose.objects.filter(lot__donation_id=donation.pk).exclude(coi=identity.coi).update(
                coi=identity.coi
            )


class Migration(migrations.Migration):
    dependencies = [
        ("journey", "0003_packages_and_quote_totals"),
        ("processing", "0003_chain_of_identity_per_course"),
    ]

    operations = [migrations.RunPython(bind_and_issue, migrations.RunPython.noop)]
