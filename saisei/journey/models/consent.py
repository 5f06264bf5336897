"""Consent documents (versioned per plan version and language) and the consents given on them.

ASRM Art. 14 requires the physician to explain the treatment and obtain written consent before
providing it; the Enforcement Regulation lets a substitute (legal proxy) consent for a person who
cannot. Consent may be withdrawn at any time: withdrawal stops further steps and keeps the record.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from saisei.core.models import ClinicalRecord

from .people import LANGUAGE_CHOICES, LegalProxy, Patient


class ConsentDocument(ClinicalRecord):
    """The explanation-and-consent text for one plan version in one language (ASRM Art. 14)."""

    plan_version = models.ForeignKey(
        "regulatory.PlanVersion", on_delete=models.PROTECT, related_name="consent_documents"
    )
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGE_CHOICES)
    version = models.CharField(_("document version"), max_length=20)
    title = models.CharField(_("title"), max_length=300)
    body = models.TextField(_("text"))
    file = models.FileField(upload_to="journey/consent_documents/", blank=True)
    effective_from = models.DateField(_("effective from"))
    is_current = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["plan_version", "language", "-effective_from"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["plan_version", "language", "version"], name="consentdoc_unique_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version} ({self.language})"


class Consent(ClinicalRecord):
    """Written consent by the patient or a legal proxy, signed electronically; withdrawable."""

    class GivenBy(models.TextChoices):
        PATIENT = "patient", _("The patient")
        PROXY = "proxy", _("A legal proxy")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="+")
    plan_version = models.ForeignKey(
        "regulatory.PlanVersion", on_delete=models.PROTECT, related_name="+"
    )
    given_by = models.CharField(_("given by"), max_length=10, choices=GivenBy.choices)
    proxy = models.ForeignKey(
        LegalProxy, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signer_name = models.CharField(_("name of the person signing"), max_length=200)
    signed_at = models.DateTimeField(_("signed at"))
    explained_by = models.ForeignKey(
        "core.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("explained by")
    )
    # Evidence: the explaining physician's re-authenticated signature, the document hash and
    # how the signer signed (typed name on a witnessed tablet, or through the portal).
    signature_evidence = models.JSONField(default=dict)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawal_reason = models.TextField(_("reason for withdrawal"), blank=True)
    withdrawal_recorded_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["patient", "-signed_at"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=~models.Q(given_by="proxy") | models.Q(proxy__isnull=False),
                name="consent_proxy_named",
            ),
        ]

    def __str__(self) -> str:
        return f"consent {self.patient_id} {self.signed_at:%Y-%m-%d}"

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None
