"""Tissue donations (harvests) and the DIN counter that numbers them."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from saisei.core.models import ClinicalRecord


class NumberSequence(models.Model):
    """Last number used per key and year: DIN sequences per facility (ISBT 128 ST-001 §2.4.1,
    DS001) and deviation numbers per organisation.

    The row is locked while a number is taken, so two harvests never get the same DIN.
    """

    key = models.CharField(max_length=30)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["key", "year"], name="numberseq_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key}/{self.year}: {self.last}"


CELL_SOURCES = [
    ("autologous", _("Autologous (the patient's own cells)")),
    ("allogeneic", _("Allogeneic (another person's cells)")),
    ("xenogeneic", _("Xenogeneic (animal cells)")),
]


class ChainOfIdentity(ClinicalRecord):
    """The chain-of-identity (CoI) identifier of one treatment course (ISBT 128 DS040, ST-028).

    ST-028 ties one CoI identifier to one therapy event and lets it link several donations
    (DINs); here the therapy event is the journey's treatment course. So every harvest for the
    course, a repeat harvest after a failed culture included, carries this identifier, and a new
    course gets a new one (docs/decisions/0007-chain-of-identity-per-course.md). The two unique
    constraints make the database refuse a course with two identifiers or an identifier shared
    by two courses.
    """

    course = models.OneToOneField(
        "journey.TreatmentCourse",
        on_delete=models.PROTECT,
        related_name="chain_of_identity",
        verbose_name=_("treatment course"),
    )
    patient = models.ForeignKey("journey.Patient", on_delete=models.PROTECT, related_name="+")
    coi = models.CharField(_("chain of identity identifier"), max_length=15, unique=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["coi"]
        verbose_name = _("chain of identity")
        verbose_name_plural = _("chains of identity")

    def __str__(self) -> str:
        return self.coi


class Donation(ClinicalRecord):
    """One adipose-tissue harvest from a patient, identified by its DIN, for one treatment course.

    Fields follow the collection-side traceability data that ATMP rules list (collection
    establishment, DIN, date, autologous or allogeneic use, tissue, donor tests; e.g. French CSP
    R5121-201-5) and the ASRM Ordinance records of cell collection. ``coi`` is the course's
    chain-of-identity identifier (``ChainOfIdentity``), copied here so scans find the donation.
    """

    patient = models.ForeignKey(
        "journey.Patient", on_delete=models.PROTECT, related_name="donations"
    )
    plan = models.ForeignKey(
        "regulatory.ProvisionPlan",
        on_delete=models.PROTECT,
        related_name="donations",
        null=True,
        blank=True,
    )
    facility = models.ForeignKey(
        "regulatory.ProcessingFacility",
        on_delete=models.PROTECT,
        related_name="donations",
        null=True,
        blank=True,
    )
    # The physician who performs the harvest (listed in the plan, checked by the compliance gate),
    # who need not be the person recording it (ASRM Art. 4(1); 様式第1の2 item 2).
    physician = models.ForeignKey(
        "regulatory.Physician",
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("performing physician"),
    )
    # Where the cells come from relative to the person who will receive them (ASRM Art. 2;
    # the plan's cell source): the gate compares it with the plan.
    cell_source = models.CharField(
        _("cell source"), max_length=20, choices=CELL_SOURCES, blank=True
    )
    # Null only for harvests recorded before donations were bound to courses and that the data
    # migration could not place; such a donation fails every identity check until QA binds it.
    course = models.ForeignKey(
        "journey.TreatmentCourse",
        on_delete=models.PROTECT,
        related_name="donations",
        null=True,
        blank=True,
        verbose_name=_("treatment course"),
    )
    din = models.CharField(_("DIN"), max_length=13, unique=True)
    din_flags = models.CharField(max_length=2, default="00")
    coi = models.CharField(_("chain of identity identifier"), max_length=15, db_index=True)
    site = models.ForeignKey(
        "core.Site", on_delete=models.PROTECT, related_name="+", verbose_name=_("collection site")
    )
    harvest_site = models.CharField(_("body site"), max_length=100)
    tissue_weight_g = models.DecimalField(_("tissue weight (g)"), max_digits=7, decimal_places=2)
    collected_at = models.DateTimeField(_("collected at"))
    collector = models.ForeignKey(
        "core.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("collected by")
    )
    container = models.CharField(_("container"), max_length=200)
    transport_conditions = models.CharField(_("transport conditions"), max_length=300, blank=True)
    # marker code -> "negative" | "positive" | "pending"; the required list is configurable.
    infection_markers = models.JSONField(_("infection markers"), default=dict, blank=True)
    received_at = models.DateTimeField(_("received at the CPC"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-collected_at"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(tissue_weight_g__gt=0), name="donation_weight_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.din
