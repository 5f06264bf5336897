"""Doses (bags), their labels, custody hand-overs and the near-misses scans caught."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from saisei.core.models import ClinicalRecord


class Dose(ClinicalRecord):
    """One bag divided from a lot, identified by DIN + product code with its division.

    ISBT 128 ST-001 §2.4.3 (product divisions keep the DIN); the status follows the dose lifecycle
    in ``processing.lifecycles``. Administered at most once (DESIGN invariant 3): the database
    allows one administration reference per dose and the service updates conditionally.
    """

    class Status(models.TextChoices):
        QUARANTINE = "quarantine", _("Quarantine")
        RELEASED = "released", _("Released")
        SHIPPED = "shipped", _("Shipped")
        RECEIVED = "received", _("Received at clinic")
        THAWED = "thawed", _("Thawed")
        ADMINISTERED = "administered", _("Administered")
        DISCARDED = "discarded", _("Discarded")
        RECALLED = "recalled", _("Recalled")
        # Taken out of use after release until QA decides (a serious adverse event in the lot,
        # or a clinician's report that the bag is unusable); see ``DoseHold``.
        ON_HOLD = "on_hold", _("On hold for QA")

    lot = models.ForeignKey("processing.Lot", on_delete=models.PROTECT, related_name="doses")
    patient = models.ForeignKey("journey.Patient", on_delete=models.PROTECT, related_name="doses")
    din = models.CharField(_("DIN"), max_length=13, db_index=True)
    coi = models.CharField(_("chain of identity identifier"), max_length=15)
    product_code = models.CharField(_("product code"), max_length=8)
    division = models.CharField(_("division"), max_length=2)
    sequence = models.PositiveSmallIntegerField(_("dose number"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.QUARANTINE
    )
    cell_count = models.FloatField(_("viable cells"))
    volume_ml = models.FloatField(_("volume (mL)"))
    cryopreserved_at = models.DateTimeField(_("cryopreserved at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    freezer = models.CharField(_("freezer"), max_length=50, blank=True)
    rack = models.CharField(_("rack"), max_length=50, blank=True)
    position = models.CharField(_("position"), max_length=50, blank=True)
    thawed_at = models.DateTimeField(_("thawed at"), null=True, blank=True)
    post_thaw_viability_pct = models.FloatField(_("post-thaw viability (%)"), null=True, blank=True)
    use_by = models.DateTimeField(_("use by"), null=True, blank=True)
    administered_at = models.DateTimeField(_("administered at"), null=True, blank=True)
    # Reference of the administration record (treatment app); unique so a dose is given once.
    administration_ref = models.CharField(max_length=64, null=True, blank=True, unique=True)
    status_reason = models.TextField(blank=True)
    # Who discarded the bag and who confirmed it (second person's signature for a released dose).
    discard_record = models.JSONField(default=dict, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["lot_id", "sequence"]
        # The dose lists' order within an organisation, live bags only (API and inventory page).
        indexes: ClassVar = [
            models.Index(
                fields=["organisation", "lot", "sequence"],
                name="dose_org_list_idx",
                condition=models.Q(voided_at__isnull=True),
            ),
            models.Index(
                fields=["organisation", "status", "lot", "sequence"],
                name="dose_org_status_list_idx",
                condition=models.Q(voided_at__isnull=True),
            ),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["din", "product_code"], name="dose_unique_product"),
            models.UniqueConstraint(fields=["lot", "sequence"], name="dose_unique_sequence"),
            models.CheckConstraint(
                condition=~models.Q(status="administered")
                | models.Q(administered_at__isnull=False, administration_ref__isnull=False),
                name="dose_administered_has_record",
            ),
            models.CheckConstraint(
                condition=models.Q(cell_count__gt=0, volume_ml__gt=0),
                name="dose_amounts_positive",
            ),
            models.UniqueConstraint(
                fields=["freezer", "rack", "position"],
                condition=models.Q(status__in=["quarantine", "released", "on_hold"])
                & ~models.Q(freezer=""),
                name="dose_unique_storage_position",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.din} {self.product_code}"

    @property
    def storage_location(self) -> str:
        parts = [p for p in (self.freezer, self.rack, self.position) if p]
        return " / ".join(parts)


class DoseHold(ClinicalRecord):
    """A bag taken out of use after release until QA lifts the hold with a reason.

    Placed at once on every other dose of a lot when a serious adverse event is linked to it
    (ASRM Art. 17–18: the processing facility is told and acts; GMP quality-defect handling), or
    when a clinician reports the bag unusable. At most one hold is active per dose; the dose's
    status is ``on_hold`` exactly while it is, and lifting returns it to ``previous_status``.
    """

    class Kind(models.TextChoices):
        ADVERSE_EVENT = "adverse_event", _("Serious adverse event in the lot")
        UNUSABLE = "unusable", _("Reported unusable")

    dose = models.ForeignKey(Dose, on_delete=models.PROTECT, related_name="holds")
    kind = models.CharField(_("why"), max_length=20, choices=Kind.choices)
    reason = models.TextField(_("reason"))
    # The adverse event that caused it, as people read it (safety is a higher app: no key).
    source_ref = models.CharField(_("reference"), max_length=100, blank=True)
    source_link = models.CharField(max_length=200, blank=True)
    previous_status = models.CharField(max_length=20)
    placed_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    placed_at = models.DateTimeField(_("placed at"))
    lifted_by = models.ForeignKey(
        "core.User", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lift_reason = models.TextField(_("reason for lifting"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-placed_at", "-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["dose"],
                condition=models.Q(lifted_at__isnull=True),
                name="dosehold_one_active",
            ),
            models.CheckConstraint(condition=~models.Q(reason=""), name="dosehold_has_reason"),
            models.CheckConstraint(
                condition=models.Q(lifted_at__isnull=True) | ~models.Q(lift_reason=""),
                name="dosehold_lift_justified",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dose} hold ({self.kind})"

    @property
    def active(self) -> bool:
        return self.lifted_at is None


class LabelPrint(ClinicalRecord):
    """A print run of labels; counted so reconciliation can account for every label.

    FACT-JACIE 8th ed. label reconciliation (CM7.2.2.1 / C7.2.2.1 / D7.2.3): issued labels end up
    applied or destroyed; reprints need a reason.
    """

    class Kind(models.TextChoices):
        DOSE = "dose", _("Dose bag label")
        DONATION = "donation", _("Tissue container label")
        WRISTBAND = "wristband", _("Patient wristband")
        SAMPLE = "sample", _("QC sample label")

    kind = models.CharField(_("label"), max_length=20, choices=Kind.choices)
    dose = models.ForeignKey(
        Dose, on_delete=models.PROTECT, related_name="labels", null=True, blank=True
    )
    donation = models.ForeignKey(
        "processing.Donation",
        on_delete=models.PROTECT,
        related_name="labels",
        null=True,
        blank=True,
    )
    count = models.PositiveSmallIntegerField(_("labels printed"))
    is_reprint = models.BooleanField(default=False)
    reason = models.TextField(_("reason for reprint"), blank=True)
    printed_at = models.DateTimeField(_("printed at"))
    printed_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    applied = models.PositiveSmallIntegerField(_("applied"), default=0)
    destroyed = models.PositiveSmallIntegerField(_("destroyed"), default=0)
    content = models.JSONField(default=dict)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-printed_at"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=models.Q(count__gte=1), name="label_count_positive"),
            models.CheckConstraint(
                condition=models.Q(is_reprint=False) | ~models.Q(reason=""),
                name="label_reprint_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(applied__lte=models.F("count") - models.F("destroyed")),
                name="label_reconciliation_not_over",
            ),
        ]

    @property
    def unaccounted(self) -> int:
        return self.count - self.applied - self.destroyed


class CustodyEvent(ClinicalRecord):
    """One hand-over in the chain of custody, verified by scanning the container.

    Stages follow facts manufacturing §2.1 (ISO 21973 transport; FACT CM10); temperature minimum
    and maximum give the chain of condition for transport legs.
    """

    class Stage(models.TextChoices):
        COLLECTION = "collection", _("Collection")
        TRANSPORT = "transport", _("Transport")
        CPC_RECEIPT = "cpc_receipt", _("CPC receipt")
        STORAGE = "storage", _("Storage")
        SHIPMENT = "shipment", _("Shipment")
        CLINIC_RECEIPT = "clinic_receipt", _("Clinic receipt")
        BEDSIDE = "bedside", _("Bedside")

    stage = models.CharField(_("stage"), max_length=20, choices=Stage.choices)
    dose = models.ForeignKey(
        Dose, on_delete=models.PROTECT, related_name="custody", null=True, blank=True
    )
    donation = models.ForeignKey(
        "processing.Donation",
        on_delete=models.PROTECT,
        related_name="custody",
        null=True,
        blank=True,
    )
    from_party = models.CharField(_("from"), max_length=200)
    to_party = models.CharField(_("to"), max_length=200)
    place = models.CharField(_("place"), max_length=200)
    occurred_at = models.DateTimeField(_("time"))
    recorded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    scanned = models.CharField(_("scanned code"), max_length=500)
    temperature_min_c = models.FloatField(_("minimum temperature (°C)"), null=True, blank=True)
    temperature_max_c = models.FloatField(_("maximum temperature (°C)"), null=True, blank=True)
    limit_min_c = models.FloatField(null=True, blank=True)
    limit_max_c = models.FloatField(null=True, blank=True)
    logger_summary = models.JSONField(default=dict, blank=True)
    excursion = models.BooleanField(_("temperature excursion"), default=False)
    notes = models.TextField(_("notes"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["occurred_at", "pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(dose__isnull=False) | models.Q(donation__isnull=False),
                name="custody_has_subject",
            ),
        ]


class NearMiss(ClinicalRecord):
    """An identity mismatch caught by a scan before harm (DESIGN invariant 2)."""

    stage = models.CharField(_("stage"), max_length=40)
    expected = models.CharField(_("expected"), max_length=300)
    scanned = models.CharField(_("scanned"), max_length=500)
    reason = models.CharField(_("reason"), max_length=300)
    patient = models.ForeignKey(
        "journey.Patient", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    dose = models.ForeignKey(
        Dose, on_delete=models.PROTECT, related_name="near_misses", null=True, blank=True
    )
    recorded_by = models.ForeignKey(
        "core.User", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    occurred_at = models.DateTimeField(_("time"))

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-occurred_at"]
