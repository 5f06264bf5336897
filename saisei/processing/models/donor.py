"""Donors of allogeneic cells: a person other than the recipient, kept apart from the patient.

A donor is never a ``journey.Patient``: the recipient's pages, portal and FHIR read patients and
donations and never reach this table. The only link is ``DonorLink`` from a donation (its DIN) to
the donor, read through the donor selectors and their own permissions (docs/decisions/0023).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from saisei.core.models import ClinicalRecord


class Donor(ClinicalRecord):
    """One donor, screened for eligibility and consented, for one allogeneic provision plan."""

    donor_code = models.CharField(_("donor code"), max_length=20, unique=True)
    family_name = models.CharField(_("family name"), max_length=100)
    given_name = models.CharField(_("given name"), max_length=100)
    birth_date = models.DateField(_("date of birth"))
    sex = models.CharField(_("sex"), max_length=10, blank=True)
    plan = models.ForeignKey(
        "regulatory.ProvisionPlan",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("provision plan"),
    )
    # criterion code -> "pass" | "fail" | "pending"; the criteria are data (processing.rules).
    screening = models.JSONField(_("screening results"), default=dict, blank=True)
    screened_at = models.DateTimeField(_("screened at"), null=True, blank=True)
    screened_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    consent_signed_at = models.DateTimeField(_("consent signed at"), null=True, blank=True)
    consent_form_version = models.CharField(_("consent form version"), max_length=50, blank=True)
    consent_recorded_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    consent_withdrawn_at = models.DateTimeField(_("consent withdrawn at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["donor_code"]
        verbose_name = _("donor")
        verbose_name_plural = _("donors")

    def __str__(self) -> str:
        return self.donor_code


class DonorLink(ClinicalRecord):
    """The donation (by its DIN) whose cells came from this donor; one donor per donation."""

    donor = models.ForeignKey(Donor, on_delete=models.PROTECT, related_name="links")
    donation = models.OneToOneField(
        "processing.Donation", on_delete=models.PROTECT, related_name="donor_link"
    )
    din = models.CharField(_("DIN"), max_length=13, unique=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["din"]
        verbose_name = _("donor link")
        verbose_name_plural = _("donor links")

    def __str__(self) -> str:
        return f"{self.din} ← {self.donor_id}"
