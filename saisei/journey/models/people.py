"""Patients, their legal proxies and contacts: the people a treatment course is for.

The fields follow the cross-app contract (journey provides ``Patient``). Personal data is held
under the Act on the Protection of Personal Information (APPI); health data is "special care-
required personal information" (APPI Art. 2(3)), so it is only collected with consent.
"""

from __future__ import annotations

import re
from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from saisei.core.models import ClinicalRecord

# CJK ideographs, kana and Hangul syllables: scripts whose names put the family name first.
_EAST_ASIAN = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def language_choices() -> list[tuple[str, str]]:
    """The offered languages (settings.LANGUAGES, driven by which catalogues exist), each named in
    itself so a family finds its own."""
    from django.conf import settings
    from django.conf.locale import LANG_INFO

    return [
        (code, LANG_INFO.get(code, {}).get("name_local", code)) for code, _n in settings.LANGUAGES
    ]


# A callable, so a language a translator adds needs neither code nor a migration.
LANGUAGE_CHOICES = language_choices


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")
    UNKNOWN = "unknown", _("Unknown")


class Patient(ClinicalRecord):
    """A person enrolled (or being enrolled) for treatment; the anchor of every clinical record."""

    class Status(models.TextChoices):
        PROSPECTIVE = "prospective", _("Prospective")
        ENROLLED = "enrolled", _("Enrolled")
        FINISHED = "finished", _("Finished")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class DiagnosisSource(models.TextChoices):
        INQUIRY = "inquiry", _("Taken from the family's inquiry")
        PHYSICIAN = "physician", _("Recorded by a physician")

    patient_code = models.CharField(_("patient code"), max_length=20)
    family_name = models.CharField(_("family name"), max_length=100)
    given_name = models.CharField(_("given name"), max_length=100)
    name_native = models.CharField(_("name in native script"), max_length=200, blank=True)
    name_reading = models.CharField(
        _("reading of the name (furigana / pinyin)"), max_length=200, blank=True
    )
    date_of_birth = models.DateField(_("date of birth"))
    sex = models.CharField(_("sex"), max_length=10, choices=Sex.choices)
    weight_kg = models.DecimalField(
        _("weight (kg)"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    language = models.CharField(_("language"), max_length=10, choices=LANGUAGE_CHOICES)
    country = models.CharField(_("country"), max_length=100, blank=True)
    currency = models.CharField(_("home currency"), max_length=3, default="USD")
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    address = models.TextField(_("address"), blank=True)
    home_physician_name = models.CharField(_("home physician"), max_length=200, blank=True)
    home_physician_contact = models.TextField(_("home physician contact"), blank=True)
    # The coded diagnosis the compliance gate checks against a plan's indication (ASRM Art. 13);
    # codes come from regulatory's indication table (ICD-10 categories). Empty: not on record.
    diagnosis_code = models.CharField(_("diagnosis (coded)"), max_length=40, blank=True)
    diagnosis_text = models.CharField(_("diagnosis as reported"), max_length=300, blank=True)
    diagnosis_source = models.CharField(
        _("diagnosis recorded from"), max_length=20, choices=DiagnosisSource.choices, blank=True
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PROSPECTIVE
    )
    inquiry = models.ForeignKey(
        "journey.Inquiry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="patients",
    )
    enrolled_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["patient_code"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "patient_code"], name="patient_code_unique_per_org"
            ),
            models.CheckConstraint(
                condition=models.Q(weight_kg__isnull=True) | models.Q(weight_kg__gt=0),
                name="patient_weight_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_code} {self.family_name} {self.given_name}"

    @property
    def display_name(self) -> str:
        """The name as its own language writes it: family name first for names written in
        Chinese characters, kana or Hangul (王 伟, 山田 花子), given name first otherwise."""
        if _EAST_ASIAN.search(self.family_name + self.given_name):
            return f"{self.family_name} {self.given_name}"
        return f"{self.given_name} {self.family_name}"


class LegalProxy(ClinicalRecord):
    """Someone entitled to consent for a patient who cannot (ASRM Art. 14; Ordinance on consent by a
    substitute), and often the family's main contact."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="proxies")
    name = models.CharField(_("name"), max_length=200)
    relationship = models.CharField(_("relationship"), max_length=100)
    authority = models.CharField(
        _("basis of authority"),
        max_length=200,
        blank=True,
        help_text=_("e.g. court-appointed guardian, lasting power of attorney, next of kin"),
    )
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    is_primary_contact = models.BooleanField(_("main contact"), default=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["patient", "-is_primary_contact", "name"]
        verbose_name_plural = "legal proxies"

    def __str__(self) -> str:
        return f"{self.name} ({self.relationship})"
