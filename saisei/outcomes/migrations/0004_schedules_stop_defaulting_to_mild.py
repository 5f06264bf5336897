"""Existing schedules stop defaulting to mild dementia.

Schedules used to store ``mild_ad`` whenever no stage was given or found, so an MCI patient (or
one never staged) was compared with mild-dementia natural history. A stored ``mild_ad`` that the
patient's recorded stage does not back up cannot be told apart from that default, so it is
cleared: the schedule then follows the recorded stage, and with none recorded makes no
comparison. A stored stage equal to the recorded one is cleared too (it follows the record from
now on); any other stage was a physician's explicit choice and is kept. Idempotent.
"""

from __future__ import annotations

from django.db import migrations

# The recorded (pre-screen) stage -> natural-history stage table as it stood at this migration.
RECORDED_TO_REFERENCE = {
    "mci": "mci_ad",
    "mild": "mild_ad",
    "moderate": "moderate_ad",
    "moderately_severe": "moderate_ad",
}


def forwards(apps, schema_editor):
    Schedule = apps.get_model("outcomes", "AssessmentSchedule")
    Prescreen = apps.get_model("journey", "Prescreen")
    for schedule in Schedule.objects.exclude(stage="").order_by("pk"):
        latest = (
            Prescreen.objects.filter(patient_id=schedule.patient_id, voided_at__isnull=True)
            .exclude(stage="")
            .order_by("-created_at", "-pk")
            .first()
        )
        recorded = RECORDED_TO_REFERENCE.get(latest.stage) if latest is not None else None
        if schedule.stage in ("mild_ad", recorded):
            Schedule.objects.filter(pk=schedule.pk).update(stage="")


class Migration(migrations.Migration):
    dependencies = [
        ("journey", "0003_packages_and_quote_totals"),
        ("outcomes", "0003_schedule_stage_follows_recorded_stage"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
