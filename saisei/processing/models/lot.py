"""Lots and their batch record: culture steps, deviations, QC, release."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from saisei.core.models import ClinicalRecord


class Lot(ClinicalRecord):
    """One manufacturing lot of cultured adipose MSC made from one donation.

    Its status follows the lot lifecycle in ``processing.lifecycles`` (ASRM Ordinance manufacturing
    records; release rules in facts manufacturing §3.2).
    """

    class Status(models.TextChoices):
        IN_CULTURE = "in_culture", _("In culture")
        QC_PENDING = "qc_pending", _("QC pending")
        QUARANTINED = "quarantined", _("Quarantined")
        RELEASED = "released", _("Released")
        CONDITIONALLY_RELEASED = "conditionally_released", _("Conditionally released")
        REJECTED = "rejected", _("Rejected")

    class Route(models.TextChoices):
        IV = "iv", _("Intravenous")
        INTRATHECAL = "intrathecal", _("Intrathecal")

    donation = models.ForeignKey(
        "processing.Donation", on_delete=models.PROTECT, related_name="lots"
    )
    number = models.CharField(_("lot number"), max_length=30, unique=True)
    status = models.CharField(
        _("status"), max_length=30, choices=Status.choices, default=Status.IN_CULTURE
    )
    route = models.CharField(_("route"), max_length=20, choices=Route.choices, default=Route.IV)
    planned_doses = models.PositiveSmallIntegerField(_("planned doses"))
    cells_per_dose = models.FloatField(_("cells per dose"))
    dose_volume_ml = models.FloatField(_("dose volume (mL)"), null=True, blank=True)
    patient_weight_kg = models.FloatField(_("patient weight (kg) for the endotoxin limit"))
    # Fresh product may be released on rapid tests while the 14-day culture runs.
    allow_conditional_release = models.BooleanField(_("conditional release allowed"), default=False)
    started_on = models.DateField(_("culture started"))
    due_on = models.DateField(_("harvest due"), null=True, blank=True)
    forecast = models.JSONField(default=dict, blank=True)
    pdc = models.CharField(_("product description code"), max_length=5)
    # ISBT 128 collection type (ST-001 Table 7 [RT008]) mapped from the plan's cell source when the
    # lot starts (processing.rules.COLLECTION_TYPE_BY_CELL_SOURCE); never a site-wide constant.
    collection_type = models.CharField(_("collection type"), max_length=1)
    status_reason = models.TextField(blank=True)
    # The facility's 標準書 and SOP versions in force when the lot started (lot_create sets them).
    document_versions = models.ManyToManyField(
        "regulatory.StandardDocument",
        blank=True,
        related_name="lots",
        verbose_name=_("standard document versions"),
    )

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-started_on", "number"]
        # The lot lists' order (and the CPC board's stages) within an organisation, live lots.
        indexes: ClassVar = [
            models.Index(
                fields=["organisation", "-started_on", "number"],
                name="lot_org_list_idx",
                condition=models.Q(voided_at__isnull=True),
            ),
            models.Index(
                fields=["organisation", "status", "-started_on", "number"],
                name="lot_org_stage_list_idx",
                condition=models.Q(voided_at__isnull=True),
            ),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(planned_doses__gte=1), name="lot_planned_doses_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(cells_per_dose__gt=0), name="lot_cells_per_dose_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def patient(self):
        return self.donation.patient


class CultureStep(ClinicalRecord):
    """One entry of the culture record: isolation, seeding, passage, feed or harvest."""

    class Kind(models.TextChoices):
        ISOLATION = "isolation", _("Isolation")
        SEEDING = "seeding", _("Seeding")
        FEED = "feed", _("Medium change")
        PASSAGE = "passage", _("Passage")
        # Translators: collecting the grown cells at the end of culture (回収), not the tissue
        # harvest from the patient.
        HARVEST = "harvest", pgettext_lazy("cell culture step", "Harvest")

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="steps")
    kind = models.CharField(_("step"), max_length=20, choices=Kind.choices)
    passage_number = models.PositiveSmallIntegerField(_("passage"), default=0)
    performed_at = models.DateTimeField(_("performed at"))
    performed_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    cell_count = models.FloatField(_("viable cells"), null=True, blank=True)
    viability_pct = models.FloatField(_("viability (%)"), null=True, blank=True)
    population_doublings = models.FloatField(_("population doublings"), null=True, blank=True)
    vessel_type = models.CharField(_("vessel type"), max_length=50, blank=True)
    vessel_count = models.PositiveSmallIntegerField(_("vessels"), default=0)
    area_cm2 = models.FloatField(_("culture area (cm²)"), null=True, blank=True)
    media_lot = models.CharField(_("medium lot"), max_length=100, blank=True)
    reagent_lots = models.CharField(_("reagent lots"), max_length=300, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["performed_at", "pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(viability_pct__isnull=True)
                | models.Q(viability_pct__gte=0, viability_pct__lte=100),
                name="culturestep_viability_range",
            ),
            models.CheckConstraint(
                condition=models.Q(cell_count__isnull=True) | models.Q(cell_count__gte=0),
                name="culturestep_count_nonnegative",
            ),
        ]


class Deviation(ClinicalRecord):
    """A departure from procedure or specification, investigated with impact and CAPA (GMP)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        INVESTIGATING = "investigating", _("Under investigation")
        CAPA = "capa", _("CAPA in progress")
        CLOSED = "closed", _("Closed")

    class Source(models.TextChoices):
        ENVIRONMENTAL = "environmental", _("Environmental monitoring")
        OOS = "oos", _("Out of specification")
        CUSTODY = "custody", _("Custody / identity")
        POSITIVE_CULTURE = "positive_culture", _("Positive culture after release")
        OTHER = "other", _("Other")

    class Severity(models.TextChoices):
        MINOR = "minor", _("Minor")
        MAJOR = "major", _("Major")
        CRITICAL = "critical", _("Critical")

    number = models.CharField(_("deviation number"), max_length=30)
    lot = models.ForeignKey(
        Lot, on_delete=models.PROTECT, related_name="deviations", null=True, blank=True
    )
    # A deviation about the starting tissue (e.g. a transport excursion) before any lot exists;
    # it holds every lot made from that donation until closed.
    donation = models.ForeignKey(
        "processing.Donation",
        on_delete=models.PROTECT,
        related_name="deviations",
        null=True,
        blank=True,
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    severity = models.CharField(
        _("severity"), max_length=10, choices=Severity.choices, default=Severity.MAJOR
    )
    title = models.CharField(_("title"), max_length=300)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.OPEN
    )
    opened_at = models.DateTimeField(_("opened at"))
    opened_by = models.ForeignKey(
        "core.User", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    investigation = models.TextField(_("investigation"), blank=True)
    impact = models.TextField(_("impact assessment"), blank=True)
    capa = models.TextField(_("corrective and preventive action"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        "core.User", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-opened_at"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "number"], name="deviation_unique_number"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="closed") | models.Q(closed_at__isnull=False),
                name="deviation_closed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class QCResult(ClinicalRecord):
    """One quality-control result for a lot, judged against a specification code (``specs``)."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("Running")
        PASSED = "passed", _("Passed")
        FAILED = "failed", _("Out of specification")

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="qc_results")
    dose = models.ForeignKey(
        "processing.Dose",
        on_delete=models.PROTECT,
        related_name="qc_results",
        null=True,
        blank=True,
    )
    test_code = models.CharField(_("test"), max_length=50)
    value = models.CharField(_("result"), max_length=100, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    limit_text = models.CharField(_("specification"), max_length=100, blank=True)
    method = models.CharField(_("method"), max_length=200, blank=True)
    tested_at = models.DateTimeField(_("tested at"))
    recorded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    deviation = models.ForeignKey(
        Deviation, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["tested_at", "pk"]
        indexes: ClassVar = [models.Index(fields=["lot", "test_code"])]


class Release(ClinicalRecord):
    """QA's release of a lot, signed electronically (21 CFR 11.200 / PIC/S Annex 11 style).

    One release per lot, enforced by the database, so concurrent attempts produce one record.
    """

    class Kind(models.TextChoices):
        FULL = "full", _("Full release")
        CONDITIONAL = "conditional", _("Conditional release (sterility culture running)")

    lot = models.OneToOneField(Lot, on_delete=models.PROTECT, related_name="release")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    signed_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(_("signed at"))
    meaning = models.CharField(_("meaning of signature"), max_length=300)
    signature = models.JSONField(default=dict)
    justification = models.TextField(_("justification"), blank=True)
    readiness = models.JSONField(default=dict)
    sterility_confirmed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=~models.Q(kind="conditional") | ~models.Q(justification=""),
                name="release_conditional_justified",
            ),
        ]


class CultureAlert(ClinicalRecord):
    """A sterility culture that turned positive after (conditional) release, and what followed.

    Fresh-product pattern in facts manufacturing §3.2: the treating physician is told at once,
    every remaining dose is blocked, and the fate of doses already given is recorded.
    """

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="culture_alerts")
    reported_at = models.DateTimeField(_("reported at"))
    reported_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    organism = models.CharField(_("organism"), max_length=200, blank=True)
    deviation = models.ForeignKey(Deviation, on_delete=models.PROTECT, related_name="+")
    physicians_notified = models.JSONField(default=list)
    doses_blocked = models.JSONField(default=list)
    doses_given = models.JSONField(default=list)
    follow_up = models.TextField(_("what happened to doses already given"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-reported_at"]
