"""Pre-screening, treatment courses and their steps, and the planned itineraries.

A course is instantiated from the plan's treatment package (harvest, culture, N infusions at an
interval, follow-up assessments); each step is checked against the compliance gate when it is
scheduled and again when it happens (DESIGN invariant 1; ASRM Art. 4, 13, 14).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from saisei.core.models import ClinicalRecord

from .people import Patient


class Prescreen(ClinicalRecord):
    """A structured eligibility check against the plan's criteria, decided and signed by a physician."""

    class Outcome(models.TextChoices):
        ELIGIBLE = "eligible", _("Eligible")
        REVIEW = "review", _("Physician review needed")
        NOT_ELIGIBLE = "not_eligible", _("Not eligible")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="prescreens")
    plan = models.ForeignKey("regulatory.ProvisionPlan", on_delete=models.PROTECT, related_name="+")
    answers = models.JSONField(default=dict)
    criteria_version = models.CharField(max_length=40, blank=True)
    staging_scheme = models.CharField(max_length=100, blank=True)
    stage = models.CharField(max_length=50, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    reasons = models.JSONField(default=list)
    decision = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    decision_note = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    signature = models.JSONField(default=dict, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["patient", "-created_at"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(decision="")
                | models.Q(decision__in=["eligible", "not_eligible"]),
                name="prescreen_decision_final",
            ),
            models.CheckConstraint(
                condition=models.Q(decision="") | models.Q(decided_at__isnull=False),
                name="prescreen_decision_signed",
            ),
        ]

    def __str__(self) -> str:
        return f"prescreen {self.patient_id} {self.outcome}"


class TreatmentCourse(ClinicalRecord):
    """One patient's course under one provision plan: the steps the package prescribes."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        SCHEDULED = "scheduled", _("Scheduled")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        STOPPED = "stopped", _("Stopped")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="courses")
    plan = models.ForeignKey(
        "regulatory.ProvisionPlan", on_delete=models.PROTECT, related_name="courses"
    )
    physician = models.ForeignKey(
        "regulatory.Physician", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The cell processing facility that will process this patient's cells; the gate checks it
    # against the plan when steps are scheduled (ASRM Art. 4(1)). Empty means not yet chosen,
    # and the gate then refuses to schedule harvest and infusions.
    facility = models.ForeignKey(
        "regulatory.ProcessingFacility",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("processing facility"),
    )
    package = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-created_at"]
        indexes: ClassVar = [
            # The cohort page's table: a plan's live courses in the order they enrolled, a page
            # at a time out of a national plan's hundred thousand.
            models.Index(
                fields=["plan", "id"],
                condition=models.Q(voided_at__isnull=True),
                name="course_plan_live_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"course {self.patient_id} ({self.get_status_display()})"


class CourseStep(ClinicalRecord):
    """One step of a course; `number` counts infusions 1..N (1 for other kinds)."""

    class Kind(models.TextChoices):
        CONSULTATION = "consultation", _("Consultation")
        # Translators: taking tissue (fat) from the patient (採取), not collecting cultured cells.
        HARVEST = "harvest", pgettext_lazy("tissue collection from the patient", "Harvest")
        CULTURE = "culture", _("Culture and QC")
        INFUSION = "infusion", _("Infusion")
        ASSESSMENT = "assessment", _("Assessment")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        SCHEDULED = "scheduled", _("Scheduled")
        BLOCKED = "blocked", _("Blocked by the compliance gate")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    course = models.ForeignKey(TreatmentCourse, on_delete=models.PROTECT, related_name="steps")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    number = models.PositiveSmallIntegerField(default=1)
    planned_date = models.DateField(null=True, blank=True)
    route = models.CharField(max_length=20, blank=True)
    planned_dose_cells = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    gate_checked_at = models.DateTimeField(null=True, blank=True)
    gate_result = models.JSONField(default=dict, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["course", "planned_date", "number"]
        indexes: ClassVar = [
            # Today's infusions: one clinic's day out of a network's hundreds of thousands.
            models.Index(
                fields=["organisation", "planned_date", "kind"],
                condition=models.Q(voided_at__isnull=True),
                name="coursestep_org_day_idx",
            ),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["course", "kind", "number"], name="coursestep_unique"),
            models.CheckConstraint(
                condition=models.Q(number__gte=1), name="coursestep_number_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(planned_dose_cells__isnull=True)
                | models.Q(planned_dose_cells__gt=0),
                name="coursestep_dose_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.number}"


class Itinerary(ClinicalRecord):
    """A stored itinerary plan (trips, visits, explanations) and what changed from the previous one."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="itineraries")
    course = models.ForeignKey(
        TreatmentCourse, null=True, blank=True, on_delete=models.PROTECT, related_name="itineraries"
    )
    version = models.PositiveIntegerField(default=1)
    request = models.JSONField(default=dict)
    plan = models.JSONField(default=dict)
    explanations = models.JSONField(default=list)
    changes = models.JSONField(default=list)
    is_current = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["patient", "-version"]
        verbose_name_plural = "itineraries"
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["patient", "version"], name="itinerary_unique_version")
        ]

    def __str__(self) -> str:
        return f"itinerary {self.patient_id} v{self.version}"


class TreatmentPackage(ClinicalRecord):
    """The treatment package a plan offers and its pre-screening criteria, as configurable data.

    The numbers (infusions, interval, culture time, follow-up months) describe what the provision
    plan sets out (ASRM Art. 4(1), plan form 様式第1の2); culture time is a default the expansion
    forecast replaces once a harvest is done (manufacturing facts §4).
    """

    plan = models.ForeignKey(
        "regulatory.ProvisionPlan", on_delete=models.PROTECT, related_name="journey_packages"
    )
    code = models.CharField(max_length=40)
    name = models.CharField(_("name"), max_length=200)
    infusions = models.PositiveSmallIntegerField(_("infusions"), default=4)
    interval_days = models.PositiveSmallIntegerField(_("days between infusions"), default=28)
    culture_days = models.PositiveSmallIntegerField(_("default culture time (days)"), default=35)
    follow_up_months = models.JSONField(default=list)
    route = models.CharField(_("route"), max_length=20, default="iv")
    dose_cells = models.BigIntegerField(_("cells per infusion"))
    prescreen_criteria = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["plan", "code"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["plan", "code"], name="package_unique_code"),
            models.CheckConstraint(condition=models.Q(infusions__gte=1), name="package_infusions"),
            models.CheckConstraint(condition=models.Q(dose_cells__gt=0), name="package_dose"),
        ]

    def __str__(self) -> str:
        return self.name
