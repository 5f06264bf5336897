"""Public inquiries from families, their uploaded records and the APPI consent given with them."""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from saisei.core.models import ClinicalRecord

from .people import LANGUAGE_CHOICES, Sex


class Inquiry(ClinicalRecord):
    """A family's first contact, worked by coordinators from a queue until it becomes a patient
    or is closed. Holds health data, so it carries the APPI consent it was given under."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        IN_REVIEW = "in_review", _("In review")
        INFO_REQUESTED = "info_requested", _("More information requested")
        PRESCREENING = "prescreening", _("Pre-screening")
        QUOTED = "quoted", _("Quoted")
        ENROLLED = "enrolled", _("Enrolled")
        DECLINED = "declined", _("Declined")
        CLOSED = "closed", _("Closed")

    class Mobility(models.TextChoices):
        INDEPENDENT = "independent", _("Walks without help")
        AID = "aid", _("Walks with a stick or frame")
        WHEELCHAIR = "wheelchair", _("Uses a wheelchair")
        BEDBOUND = "bedbound", _("Mostly in bed")

    reference = models.CharField(_("reference number"), max_length=16, unique=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NEW
    )
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGE_CHOICES)
    contact_name = models.CharField(_("your name"), max_length=200)
    contact_email = models.EmailField(_("your e-mail"))
    contact_phone = models.CharField(_("your phone"), max_length=50, blank=True)
    contact_relationship = models.CharField(
        _("your relationship to the patient"), max_length=100, blank=True
    )
    patient_name = models.CharField(_("patient's name"), max_length=200)
    # The parts as the family typed them (issue 15): patient_name is composed from them for
    # display; inquiries from before these fields keep only patient_name, never split.
    patient_family_name = models.CharField(_("patient's family name"), max_length=100, blank=True)
    patient_given_name = models.CharField(_("patient's given name"), max_length=100, blank=True)
    patient_name_native = models.CharField(
        _("patient's name in native script"), max_length=200, blank=True
    )
    patient_name_reading = models.CharField(
        _("reading of the patient's name"), max_length=200, blank=True
    )
    patient_date_of_birth = models.DateField(_("patient's date of birth"), null=True, blank=True)
    patient_sex = models.CharField(
        _("patient's sex"), max_length=10, choices=Sex.choices, default=Sex.UNKNOWN
    )
    country = models.CharField(_("country where the patient lives"), max_length=100)
    diagnosis = models.CharField(_("diagnosis"), max_length=300)
    diagnosis_when = models.CharField(_("when was it diagnosed"), max_length=100, blank=True)
    current_medicines = models.TextField(_("current medicines"), blank=True)
    cognitive_scores = models.TextField(_("latest cognitive test scores"), blank=True)
    mobility = models.CharField(_("mobility"), max_length=20, choices=Mobility.choices, blank=True)
    legal_proxy = models.CharField(
        _("legal proxy (name and relationship)"), max_length=300, blank=True
    )
    travel_windows = models.TextField(_("preferred travel periods"), blank=True)
    message = models.TextField(_("anything else"), blank=True)
    # APPI consent (Art. 17, 18, 20(2)): what the family agreed to, in which wording and language.
    privacy_notice_version = models.CharField(max_length=40)
    privacy_notice_language = models.CharField(max_length=10)
    privacy_notice_text = models.TextField()
    privacy_consent_at = models.DateTimeField()
    submitted_ip = models.GenericIPAddressField(null=True, blank=True)
    assigned_to = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    coordinator_note = models.TextField(_("coordinator note"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-created_at"]
        # The inquiry queue's order within an organisation (all, or by status).
        indexes: ClassVar = [
            models.Index(
                fields=["organisation", "created_at"],
                name="inquiry_org_list_idx",
                condition=models.Q(voided_at__isnull=True),
            ),
            models.Index(
                fields=["organisation", "status", "created_at"],
                name="inquiry_org_status_list_idx",
                condition=models.Q(voided_at__isnull=True),
            ),
        ]
        verbose_name_plural = "inquiries"

    def __str__(self) -> str:
        return f"{self.reference} {self.patient_name}"


class InquiryFile(ClinicalRecord):
    """A record uploaded with an inquiry (letters, scans, test results), checked for size and type."""

    inquiry = models.ForeignKey(Inquiry, on_delete=models.PROTECT, related_name="files")
    file = models.FileField(upload_to="journey/inquiries/%Y/%m/")
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["inquiry", "created_at"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=models.Q(size__gt=0), name="inquiryfile_not_empty")
        ]

    def __str__(self) -> str:
        return self.original_name


class InquiryFormToken(models.Model):
    """A public form token that has been used: the form can be sent once with it, never replayed.

    Only the SHA-256 of the signed token is kept; rows older than the token's own lifetime (a
    day) can never match again and may be removed.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    used_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.token_hash[:12]
