"""Bedside verification, administrations and vital signs.

An administration is the last point where a mix-up can be stopped (DESIGN invariants 1–3): it
rests on a passed bedside verification, a second person's confirmation, and a database rule that
allows one administration per dose.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from saisei.core.models import ClinicalRecord


class Route(models.TextChoices):
    """Routes this programme uses; the plan says which ones are allowed (ASRM Art. 13)."""

    IV = "iv", _("Intravenous")
    INTRATHECAL = "intrathecal", _("Intrathecal")


class BedsideVerification(ClinicalRecord):
    """One scan check at the bedside: what was scanned, each check's result, who checked.

    FACT-JACIE clinical standards require the recipient's and the product's identity to be
    checked before administration (facts manufacturing §2.1); a failed check is also recorded as
    a processing near-miss (DESIGN invariant 2).
    """

    patient_scan = models.CharField(_("wristband scan"), max_length=500)
    product_scans = models.JSONField(_("product label scans"), default=list)
    route = models.CharField(_("route"), max_length=20, blank=True)
    course_step = models.ForeignKey(
        "journey.CourseStep",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bedside_verifications",
    )
    patient = models.ForeignKey(
        "journey.Patient", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    dose = models.ForeignKey(
        "processing.Dose",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bedside_verifications",
    )
    checks = models.JSONField(_("checks"), default=list)
    passed = models.BooleanField(_("passed"), default=False)
    gate_result = models.JSONField(default=dict, blank=True)
    performed_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    performed_at = models.DateTimeField(_("checked at"), default=timezone.now)
    near_miss = models.ForeignKey(
        "processing.NearMiss", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-performed_at", "-pk"]
        constraints: ClassVar = [
            # A passed check names the patient and the dose it cleared.
            models.CheckConstraint(
                condition=Q(passed=False) | Q(patient__isnull=False, dose__isnull=False),
                name="bedside_passed_names_patient_and_dose",
            ),
        ]

    def __str__(self) -> str:
        return f"bedside check {self.pk} ({'passed' if self.passed else 'failed'})"

    @property
    def failed_checks(self) -> list[dict]:
        return [c for c in self.checks if not c.get("passed")]


class Administration(ClinicalRecord):
    """One dose given to one patient: what, how, when, by whom, and what was observed.

    Record of provision (ASRM Art. 16; Enforcement Regulation record items). The one-to-one link
    to the dose makes the database refuse a second administration of the same bag (invariant 3).
    """

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        STOPPED = "stopped", _("Stopped early")

    dose = models.OneToOneField(
        "processing.Dose", on_delete=models.PROTECT, related_name="administration"
    )
    verification = models.OneToOneField(
        BedsideVerification, on_delete=models.PROTECT, related_name="administration"
    )
    patient = models.ForeignKey(
        "journey.Patient", on_delete=models.PROTECT, related_name="administrations"
    )
    plan = models.ForeignKey(
        "regulatory.ProvisionPlan", on_delete=models.PROTECT, related_name="administrations"
    )
    course_step = models.ForeignKey(
        "journey.CourseStep",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="administrations",
    )
    number = models.PositiveSmallIntegerField(_("administration number"))
    route = models.CharField(_("route"), max_length=20, choices=Route.choices)
    cells_given = models.BigIntegerField(_("cells given"))
    weight_kg = models.DecimalField(
        _("weight (kg)"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    cells_per_kg = models.FloatField(_("cells per kg"), null=True, blank=True)
    volume_ml = models.FloatField(_("volume (mL)"))
    rate_ml_per_hour = models.FloatField(_("infusion rate (mL/h)"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    premedication = models.TextField(_("premedication"), blank=True)
    observations = models.TextField(_("observations"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.IN_PROGRESS
    )
    stop_reason = models.TextField(_("reason for stopping"), blank=True)
    physician = models.ForeignKey(
        "core.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("physician")
    )
    nurse = models.ForeignKey(
        "core.User",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("nurse"),
    )
    recorded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    second_person = models.ForeignKey(
        "core.User",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("second-person check"),
    )
    second_person_confirmed_at = models.DateTimeField(_("second person confirmed at"))
    gate_result = models.JSONField(default=dict, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-started_at", "-pk"]
        # The administration list's order (and a day's infusions) within an organisation.
        indexes: ClassVar = [
            models.Index(fields=["patient", "plan"]),
            models.Index(
                fields=["organisation", "started_at", "id"],
                name="administration_org_list_idx",
                condition=Q(voided_at__isnull=True),
            ),
            # Infusions running now (the clinicians' home worklist): a handful among a network's
            # hundreds of thousands of administrations.
            models.Index(
                fields=["organisation", "started_at", "id"],
                name="administration_org_running_idx",
                condition=Q(voided_at__isnull=True, status="in_progress"),
            ),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(cells_given__gt=0) & Q(volume_ml__gt=0),
                name="administration_amounts_positive",
            ),
            models.CheckConstraint(
                condition=Q(rate_ml_per_hour__isnull=True) | Q(rate_ml_per_hour__gt=0),
                name="administration_rate_positive",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")),
                name="administration_ends_after_start",
            ),
            # Two-person check: the confirmer is not the person who recorded it.
            models.CheckConstraint(
                condition=~Q(second_person=F("recorded_by")),
                name="administration_two_people",
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1), name="administration_number_positive"
            ),
            models.CheckConstraint(
                condition=Q(route__in=["iv", "intrathecal"]), name="administration_route_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"administration {self.number} of patient {self.patient_id}"


class VitalSign(ClinicalRecord):
    """Vital signs before, during and after an infusion, for infusion reactions and embolism.

    Facts outcomes §6.1: fever and flushing are the usual reactions after IV MSC; dyspnoea, chest
    pain and hypoxia are monitored for thromboembolism.
    """

    class Phase(models.TextChoices):
        BEFORE = "before", _("Before")
        DURING = "during", _("During")
        AFTER = "after", _("After")

    administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, related_name="vitals"
    )
    phase = models.CharField(_("when"), max_length=10, choices=Phase.choices)
    measured_at = models.DateTimeField(_("measured at"))
    systolic_mmhg = models.PositiveSmallIntegerField(_("systolic (mmHg)"), null=True, blank=True)
    diastolic_mmhg = models.PositiveSmallIntegerField(_("diastolic (mmHg)"), null=True, blank=True)
    heart_rate_bpm = models.PositiveSmallIntegerField(_("heart rate (/min)"), null=True, blank=True)
    respiratory_rate = models.PositiveSmallIntegerField(
        _("respiratory rate (/min)"), null=True, blank=True
    )
    temperature_c = models.DecimalField(
        _("temperature (°C)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    spo2_pct = models.PositiveSmallIntegerField(_("SpO₂ (%)"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    recorded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["measured_at", "pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(phase__in=["before", "during", "after"]), name="vitalsign_phase_valid"
            ),
            models.CheckConstraint(
                condition=Q(spo2_pct__isnull=True) | Q(spo2_pct__lte=100),
                name="vitalsign_spo2_range",
            ),
            models.CheckConstraint(
                condition=Q(temperature_c__isnull=True)
                | Q(temperature_c__gte=25, temperature_c__lte=45),
                name="vitalsign_temperature_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.phase} vitals {self.measured_at:%H:%M}"
