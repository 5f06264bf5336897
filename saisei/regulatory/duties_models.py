"""The CPC's licence register and changes, and the clinic's own duties (issue 16 items 3 and 7).

A processing facility's licence, notification or accreditation is a dated record; a renewal is
the next record. The compliance gate reads these records and nothing else, so a facility with no
record in force on the day is not authorised (fail closed). Complaints, the administrator's and
the responsible physician's periodic checks, and committee opinions with their required actions
are the institution's own duties under the Enforcement Regulation (MHLW Ordinance No. 110 of
2014). Imported at the end of ``regulatory.models``.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from saisei.core.models import ClinicalRecord


class AuthorisationKind(models.TextChoices):
    # Values match the gate's vocabulary (rules/gate.py AUTHORISED).
    NOTIFIED = "notified", _("Notification (in a medical institution)")
    LICENSED = "licensed", _("Licence")
    ACCREDITED = "accredited", _("Foreign accreditation")


def authorisation_last_day(valid_until: dt.date | None, ended_on: dt.date | None) -> dt.date | None:
    """A register record's last day in force: the earlier of its expiry and an early end; None
    for a notification that has not ended (in force until it is)."""
    ends = [d for d in (valid_until, ended_on) if d is not None]
    return min(ends) if ends else None


class FacilityAuthorisation(ClinicalRecord):
    """One licence (許可, ASRM Art. 35), notification (届出, Art. 40) or accreditation (認定,
    Art. 39) of a processing facility, in force from ``valid_from`` until ``valid_until`` (a
    notification has no end) or until it was ended early (revoked, withdrawn, lapsed).
    A renewal (Art. 36) is a new record that names the one it renews."""

    class EndReason(models.TextChoices):
        REVOKED = "revoked", _("Revoked by the authority")
        WITHDRAWN = "withdrawn", _("Withdrawn (manufacturing stopped)")
        SUPERSEDED = "superseded", _("Replaced by a new licence or notification")

    facility = models.ForeignKey(
        "regulatory.ProcessingFacility", on_delete=models.PROTECT, related_name="authorisations"
    )
    kind = models.CharField(_("type"), max_length=20, choices=AuthorisationKind.choices)
    number = models.CharField(_("licence or notification number"), max_length=60)
    scope = models.TextField(_("scope (cell products and processes)"))
    valid_from = models.DateField(_("in force from"))
    valid_until = models.DateField(_("in force until"), null=True, blank=True)
    renews = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="renewals",
        verbose_name=_("renews"),
    )
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    end_reason = models.CharField(
        _("why it ended"), max_length=20, choices=EndReason.choices, blank=True
    )
    end_note = models.TextField(_("note on the ending"), blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["facility", "valid_from", "pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="facility_authorisation_ordered",
            ),
            models.CheckConstraint(
                condition=Q(kind="notified") | Q(valid_until__isnull=False),
                name="facility_licence_has_expiry",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | ~Q(end_reason=""),
                name="facility_authorisation_end_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    @property
    def last_day(self) -> dt.date | None:
        """The last day in force: the earlier of its expiry and an early end."""
        return authorisation_last_day(self.valid_until, self.ended_on)

    def in_force_on(self, day: dt.date) -> bool:
        last = self.last_day
        return self.voided_at is None and self.valid_from <= day and (last is None or day <= last)


class FacilityChangeKind(models.TextChoices):
    MANAGER = "manager", _("Facility manager (施設管理者)")
    NAME_ADDRESS = "name_address", _("Name or address of the manufacturer or facility")
    STRUCTURE = "structure", _("Structure or equipment of the facility")
    SCOPE = "scope", _("Cell products or processes made at the facility")
    OTHER = "other", _("Other item of the licence or notification")


class FacilityChange(ClinicalRecord):
    """A change to a processing facility and the notice it requires (an obligation)."""

    facility = models.ForeignKey(
        "regulatory.ProcessingFacility", on_delete=models.PROTECT, related_name="changes"
    )
    kind = models.CharField(_("what changed"), max_length=20, choices=FacilityChangeKind.choices)
    description = models.TextField(_("description"))
    change_date = models.DateField(_("date of the change"))
    recorded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-change_date", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.change_date})"


class Complaint(ClinicalRecord):
    """A complaint to the institution's complaints desk (苦情, Enforcement Regulation Art. 26)."""

    class Complainant(models.TextChoices):
        PATIENT = "patient", _("Patient")
        FAMILY = "family", _("Family")
        OTHER = "other", pgettext_lazy("who complained", "Other")

    class Channel(models.TextChoices):
        PHONE = "phone", _("Telephone")
        EMAIL = "email", _("E-mail")
        LETTER = "letter", _("Letter")
        IN_PERSON = "in_person", _("In person")
        PORTAL = "portal", _("Patient portal")
        OTHER = "other", pgettext_lazy("complaint channel", "Other")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        INVESTIGATING = "investigating", _("Being investigated")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", pgettext_lazy("complaint status", "Closed")

    reference = models.CharField(_("reference"), max_length=30)
    complainant_kind = models.CharField(
        _("who complained"), max_length=20, choices=Complainant.choices
    )
    complainant_name = models.CharField(_("name of the complainant"), max_length=200, blank=True)
    received_on = models.DateField(_("received on"))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    summary = models.CharField(_("what the complaint is about"), max_length=300)
    details = models.TextField(_("details"), blank=True)
    handler = models.ForeignKey(
        "core.User",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("handled by"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.RECEIVED
    )
    response = models.TextField(_("response"), blank=True)
    responded_on = models.DateField(_("responded on"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-received_on", "-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "reference"], name="complaint_unique_reference"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["received", "investigating"])
                | (Q(responded_on__isnull=False) & ~Q(response="")),
                name="complaint_answered_has_response",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.summary}"

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.RECEIVED, self.Status.INVESTIGATING)


class PeriodicCheck(ClinicalRecord):
    """A scheduled check of how regenerative medicine is provided, by the administrator (管理者)
    or the responsible physician (実施責任者) (Enforcement Regulation Art. 20-2 as summarised)."""

    class Checker(models.TextChoices):
        ADMINISTRATOR = "administrator", _("Administrator (管理者)")
        RESPONSIBLE_PHYSICIAN = "responsible_physician", _("Responsible physician (実施責任者)")

    class Status(models.TextChoices):
        DUE = "due", pgettext_lazy("periodic check", "Due")
        SIGNED_OFF = "signed_off", _("Signed off")

    checker = models.CharField(_("checked by (role)"), max_length=30, choices=Checker.choices)
    assignee = models.ForeignKey(
        "core.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("assigned to")
    )
    plan = models.ForeignKey(
        "regulatory.ProvisionPlan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="periodic_checks",
        verbose_name=_("provision plan"),
    )
    title = models.CharField(_("what is checked"), max_length=300)
    due_date = models.DateField(_("due date"))
    interval_days = models.PositiveIntegerField(_("repeat every (days)"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default="due")
    performed_on = models.DateField(_("performed on"), null=True, blank=True)
    findings = models.TextField(_("findings"), blank=True)
    signed_off_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["due_date", "pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(status="due")
                | (Q(performed_on__isnull=False, signed_off_by__isnull=False) & ~Q(findings="")),
                name="periodic_check_signed_has_findings",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.due_date})"


class CommitteeOpinion(ClinicalRecord):
    """An opinion of the certified committee to the institution, to be acted on
    (Enforcement Regulation Art. 26-2 as summarised)."""

    committee = models.ForeignKey(
        "regulatory.CertifiedCommittee",
        on_delete=models.PROTECT,
        related_name="opinions",
        verbose_name=_("committee"),
    )
    plan = models.ForeignKey(
        "regulatory.ProvisionPlan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="committee_opinions",
        verbose_name=_("provision plan"),
    )
    opinion_date = models.DateField(_("date of the opinion"))
    summary = models.CharField(_("summary"), max_length=300)
    text = models.TextField(_("opinion text"), blank=True)
    recorded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-opinion_date", "-pk"]

    def __str__(self) -> str:
        return f"{self.committee} {self.opinion_date}: {self.summary}"


class CommitteeAction(ClinicalRecord):
    """One action a committee opinion requires, tracked to closure with evidence."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", pgettext_lazy("required action status", "Closed")

    opinion = models.ForeignKey(CommitteeOpinion, on_delete=models.PROTECT, related_name="actions")
    description = models.TextField(_("required action"))
    owner = models.ForeignKey(
        "core.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("owner")
    )
    due_date = models.DateField(_("due date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default="open")
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    evidence = models.TextField(_("evidence"), blank=True)
    closed_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["due_date", "pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(status="open") | (Q(closed_on__isnull=False) & ~Q(evidence="")),
                name="committee_action_closed_has_evidence",
            ),
        ]

    def __str__(self) -> str:
        return self.description[:80]
