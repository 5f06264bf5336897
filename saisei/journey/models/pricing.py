"""Price lists in JPY per institution, and versioned, itemised quotes with acceptance records.

An honest quote names the provision plan number, risk class, institution and processing facility,
shows the facilitator's commission and the refund rule at each stage (journey facts §4, "what a
trustworthy platform should display").
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from saisei.core.models import ClinicalRecord

from .people import LANGUAGE_CHOICES, Patient


class PriceList(ClinicalRecord):
    """One institution's prices in JPY, valid between two dates (both included)."""

    institution = models.ForeignKey(
        "regulatory.MedicalInstitution", on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("name"), max_length=200)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    # Prices per item kind (consultation, tests, harvest, culture_processing, infusion, follow_up,
    # assessment, interpreter_per_day, guarantor_fee) live in PriceItem rows; the refund policy
    # (which stage spends which category) and the tax rule are data too.
    refund_rules = models.JSONField(default=dict, blank=True)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.10"))
    prices_include_tax = models.BooleanField(default=False)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-valid_from"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(valid_until__gte=models.F("valid_from")),
                name="pricelist_valid_range",
            )
        ]

    def __str__(self) -> str:
        return self.name


class PriceItem(ClinicalRecord):
    """One priced item; `kind` says which quote line it feeds."""

    price_list = models.ForeignKey(PriceList, on_delete=models.PROTECT, related_name="items")
    kind = models.CharField(max_length=30)
    label = models.CharField(_("label"), max_length=200)
    label_ja = models.CharField(_("label in Japanese"), max_length=200, blank=True)
    unit_price_jpy = models.PositiveIntegerField(_("unit price (JPY)"))

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["price_list", "kind"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["price_list", "kind"], name="priceitem_unique_kind")
        ]

    def __str__(self) -> str:
        return f"{self.label}: ¥{self.unit_price_jpy:,}"


class Quote(ClinicalRecord):
    """A versioned, itemised quote for one patient under one plan; a new version supersedes the old."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ISSUED = "issued", _("Issued")
        ACCEPTED = "accepted", _("Accepted")
        SUPERSEDED = "superseded", _("Superseded")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    number = models.CharField(_("quote number"), max_length=20)
    version = models.PositiveIntegerField(default=1)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="quotes")
    plan = models.ForeignKey("regulatory.ProvisionPlan", on_delete=models.PROTECT, related_name="+")
    plan_version = models.ForeignKey(
        "regulatory.PlanVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    price_list = models.ForeignKey(PriceList, on_delete=models.PROTECT, related_name="quotes")
    facilitator = models.ForeignKey(
        "core.Organisation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES)
    infusions = models.PositiveSmallIntegerField(default=1)
    valid_until = models.DateField(_("valid until"))
    subtotal_jpy = models.PositiveBigIntegerField(default=0)
    tax_jpy = models.PositiveBigIntegerField(default=0)
    total_jpy = models.PositiveBigIntegerField(default=0)
    commission_payer = models.CharField(max_length=10, default="clinic")
    converted_amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    fx_rate = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    fx_rate_date = models.DateField(null=True, blank=True)
    fx_source = models.CharField(max_length=200, blank=True)
    # What the family reads: a snapshot taken at issue, so the PDF never changes afterwards.
    disclosures = models.JSONField(default=dict, blank=True)
    refund_schedule = models.JSONField(default=list, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by_name = models.CharField(max_length=200, blank=True)
    acceptance_evidence = models.JSONField(default=dict, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-created_at"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "number", "version"], name="quote_unique_version"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="accepted") | models.Q(accepted_at__isnull=False),
                name="quote_accepted_has_time",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | models.Q(issued_at__isnull=False),
                name="quote_issued_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} v{self.version}"


class QuoteLine(ClinicalRecord):
    """One line of a quote; commission is always a line, even when it is zero."""

    quote = models.ForeignKey(Quote, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=30)
    code = models.CharField(max_length=40, default="")
    description = models.CharField(max_length=300)
    taxable = models.BooleanField(default=True)
    included_in_total = models.BooleanField(default=True)
    quantity = models.PositiveSmallIntegerField(default=1)
    unit_price_jpy = models.PositiveBigIntegerField()
    amount_jpy = models.PositiveBigIntegerField()
    note = models.CharField(max_length=300, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["quote", "position"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["quote", "position"], name="quoteline_unique_pos"),
            models.CheckConstraint(
                condition=models.Q(amount_jpy=models.F("quantity") * models.F("unit_price_jpy")),
                name="quoteline_amount_is_qty_times_price",
            ),
        ]

    def __str__(self) -> str:
        return self.description
