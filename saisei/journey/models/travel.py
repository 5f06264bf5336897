"""Visa and guarantor paperwork, and the magic links that open the patient portal."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from saisei.core.models import ClinicalRecord, ExternalIdModel

from .people import Patient


class GuarantorRecord(ClinicalRecord):
    """The registered guarantor organisation (身元保証機関) that sponsors the medical-stay visa.

    Japan's medical-stay visa needs a guarantor registered with METI or the Japan Tourism
    Agency (journey facts §3); the registration number lets anyone check the register.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="guarantors")
    name = models.CharField(_("guarantor organisation"), max_length=200)
    registration_number = models.CharField(_("registration number"), max_length=50)
    registered_with = models.CharField(
        _("registered with"), max_length=100, default="METI / Japan Tourism Agency"
    )
    contact = models.TextField(_("contact"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["patient", "-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.registration_number})"


class VisaDocument(ClinicalRecord):
    """One item of the medical-stay visa checklist and what was sent, to whom and when."""

    class Status(models.TextChoices):
        TO_DO = "to_do", _("To do")
        READY = "ready", _("Ready")
        SENT = "sent", _("Sent")
        NOT_NEEDED = "not_needed", _("Not needed")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="visa_documents")
    code = models.CharField(max_length=40)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.TO_DO
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    sent_to = models.CharField(_("sent to"), max_length=200, blank=True)
    note = models.TextField(_("note"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["patient", "code"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["patient", "code"], name="visadoc_unique_per_patient"),
            models.CheckConstraint(
                condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False),
                name="visadoc_sent_has_date",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class PortalAccess(ExternalIdModel):
    """A one-time magic link to the patient portal; only the SHA-256 of the token is stored."""

    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="portal_links")
    email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering: ClassVar = ["-created_at"]

    def __str__(self) -> str:
        return f"portal link for {self.patient_id}"
