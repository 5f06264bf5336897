"""Environmental monitoring: the approved programme per cleanroom, its limits, and the readings.

A reading is judged only against the programme version in force for its room on the day it was
sampled (PIC/S GMP Annex 1 (2022) ch. 9: alert and action levels are set in a documented
monitoring programme; ASRM Enforcement Regulation Art. 97 and 100, hygiene and quality control
of the processing facility). Nobody types limits next to a value.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from saisei.core.models import ClinicalRecord


class CleanlinessGrade(models.TextChoices):
    """Cleanroom grades A–D (PIC/S GMP Annex 1 (2022) §4.23; the Japanese aseptic-processing
    guideline uses the same four grades)."""

    A = "A", _("Grade A")
    B = "B", _("Grade B")
    C = "C", _("Grade C")
    D = "D", _("Grade D")


class EnvironmentalParameter(models.TextChoices):
    """What a reading measures; each has one unit (``rules.EM_UNITS``)."""

    PARTICLES_0_5 = "particles_0_5", _("Particles ≥0.5 µm")
    PARTICLES_5_0 = "particles_5_0", _("Particles ≥5.0 µm")
    AIR_VIABLE = "air_viable", _("Active air sample")
    SETTLE_PLATE = "settle_plate", _("Settle plate (4 h)")
    CONTACT_PLATE = "contact_plate", _("Contact plate")
    GLOVE_PRINT = "glove_print", _("Glove print")


class MonitoringProgramme(ClinicalRecord):
    """One version of the environmental-monitoring programme of one cleanroom.

    Prepared by the CPC, approved by QA with an electronic signature (not by the person who
    prepared it); from ``effective_from`` it replaces earlier versions for readings sampled on or
    after that day. An approved version never changes: a new limit is a new version.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("document status", "Draft")
        APPROVED = "approved", _("Approved")

    site = models.ForeignKey("core.Site", on_delete=models.PROTECT, related_name="+")
    room = models.CharField(_("room"), max_length=100)
    grade = models.CharField(_("cleanliness grade"), max_length=1, choices=CleanlinessGrade.choices)
    version = models.PositiveSmallIntegerField(_("version"))
    effective_from = models.DateField(_("in force from"))
    source = models.TextField(_("source of the limits"))
    notes = models.TextField(_("notes"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    prepared_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    prepared_at = models.DateTimeField(_("prepared at"))
    approved_by = models.ForeignKey(
        "core.User", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approval_signature = models.JSONField(default=dict, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["site_id", "room", "-version"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "site", "room", "version"],
                name="emprogramme_unique_version",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved")
                | Q(approved_by__isnull=False, approved_at__isnull=False),
                name="emprogramme_approved_signed",
            ),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("prepared_by")),
                name="emprogramme_four_eyes",
            ),
            models.CheckConstraint(condition=~Q(source=""), name="emprogramme_has_source"),
        ]

    def __str__(self) -> str:
        return f"{self.room} ({self.get_grade_display()}) v{self.version}"


class MonitoringLimit(ClinicalRecord):
    """Alert and action limit for one parameter of a programme version.

    Action limits follow the grade's maximum (PIC/S GMP Annex 1 (2022) Tables 5 and 6); alert
    limits are the facility's own, set below them from trend data (Annex 1 §9.26).
    """

    programme = models.ForeignKey(
        MonitoringProgramme, on_delete=models.PROTECT, related_name="limits"
    )
    parameter = models.CharField(
        _("parameter"), max_length=20, choices=EnvironmentalParameter.choices
    )
    alert_limit = models.FloatField(_("alert limit"))
    action_limit = models.FloatField(_("action limit"))

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["programme_id", "parameter"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["programme", "parameter"], name="emlimit_one_per_parameter"
            ),
            models.CheckConstraint(
                condition=Q(alert_limit__gte=0) & Q(action_limit__gte=F("alert_limit")),
                name="emlimit_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.programme} {self.parameter}: {self.alert_limit}/{self.action_limit}"


class EnvironmentalResult(ClinicalRecord):
    """One environmental-monitoring reading, judged against the programme version in force.

    The limits are copied from that version as evidence of what was applied; any reading above
    the alert limit opens a deviation, so every excursion has an investigation to close.
    """

    class Level(models.TextChoices):
        WITHIN = "within", _("Within limits")
        ALERT = "alert", _("Alert limit exceeded")
        ACTION = "action", _("Action limit exceeded")

    site = models.ForeignKey("core.Site", on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(
        "processing.Lot",
        on_delete=models.PROTECT,
        related_name="environment",
        null=True,
        blank=True,
    )
    room = models.CharField(_("room"), max_length=100, blank=True)
    location = models.CharField(_("sampling point"), max_length=100)
    parameter = models.CharField(
        _("parameter"), max_length=100, choices=EnvironmentalParameter.choices
    )
    unit = models.CharField(_("unit"), max_length=30, blank=True)
    value = models.FloatField(_("value"))
    programme = models.ForeignKey(
        MonitoringProgramme,
        on_delete=models.PROTECT,
        related_name="readings",
        null=True,
        blank=True,
    )
    alert_limit = models.FloatField(_("alert limit"))
    action_limit = models.FloatField(_("action limit"))
    level = models.CharField(max_length=10, choices=Level.choices)
    sampled_at = models.DateTimeField(_("sampled at"))
    recorded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    deviation = models.ForeignKey(
        "processing.Deviation", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-sampled_at"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(action_limit__gte=models.F("alert_limit")),
                name="env_action_above_alert",
            ),
            # Readings judged by a programme (all new ones) have an investigation per excursion.
            models.CheckConstraint(
                condition=models.Q(level="within")
                | models.Q(deviation__isnull=False)
                | models.Q(programme__isnull=True),
                name="env_excursion_has_deviation",
            ),
        ]
