"""Adverse events, their follow-ups, what was sent to whom, and problems patients report.

ASRM Art. 17–18 and Enforcement Regulation Art. 35–36 require "disease etc." reports to the
certified committee and the Minister within 7 or 15 days, or in 60-day batches (facts
regulation-asrm §4); the processing facility is told promptly. The deadlines themselves come
from the regulatory deadline engine; this app records the event and what was reported.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from saisei.core.models import ClinicalRecord


class Relatedness(models.TextChoices):
    """WHO-UMC-style causality categories, as clinicians use them for CTCAE-graded events."""

    NOT_ASSESSED = "not_assessed", _("Not yet assessed")
    NOT_RELATED = "not_related", _("Not related")
    UNLIKELY = "unlikely", _("Unlikely")
    POSSIBLE = "possible", _("Possible")
    PROBABLE = "probable", _("Probable")
    DEFINITE = "definite", _("Definite")


SUSPECTED = frozenset({Relatedness.POSSIBLE, Relatedness.PROBABLE, Relatedness.DEFINITE})


class Outcome(models.TextChoices):
    RECOVERED = "recovered", _("Recovered")
    RECOVERING = "recovering", _("Recovering")
    NOT_RECOVERED = "not_recovered", _("Not recovered")
    RECOVERED_WITH_SEQUELAE = "sequelae", _("Recovered with lasting effects")
    FATAL = "fatal", _("Fatal")
    UNKNOWN = "unknown", _("Unknown")


class Source(models.TextChoices):
    STAFF = "staff", _("Staff")
    PORTAL = "portal", _("Patient or caregiver (portal)")


# Seriousness criteria (ICH E2A; the categories of Enforcement Regulation Art. 35), most severe
# first: the first one that applies sets the reporting clock.
SERIOUSNESS_FIELDS: tuple[tuple[str, str], ...] = (
    ("death", "death"),
    ("life_threatening", "life_threatening"),
    ("hospitalisation", "hospitalisation"),
    ("disability", "disability"),
    ("congenital_anomaly", "congenital_anomaly"),
    ("other_medically_important", "other_serious"),
)


class AdverseEvent(ClinicalRecord):
    """One adverse event ("disease etc.") in a treated patient, graded and judged for causality.

    Grades follow CTCAE-style 1–5 (facts outcomes §6.1); ``aware_at`` starts the legal clock
    (ASRM Enforcement Regulation Art. 35: counted from when the provider learned of it).
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    number = models.CharField(_("event number"), max_length=20)
    patient = models.ForeignKey(
        "journey.Patient", on_delete=models.PROTECT, related_name="adverse_events"
    )
    plan = models.ForeignKey(
        "regulatory.ProvisionPlan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="adverse_events",
    )
    administration = models.ForeignKey(
        "treatment.Administration",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="adverse_events",
    )
    dose = models.ForeignKey(
        "processing.Dose", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lot = models.ForeignKey(
        "processing.Lot",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="adverse_events",
    )
    term = models.CharField(_("event term"), max_length=200)
    vocabulary_code = models.CharField(_("vocabulary term"), max_length=60, blank=True)
    meddra_code = models.CharField(_("MedDRA code"), max_length=20, blank=True)
    description = models.TextField(_("what happened"), blank=True)
    onset_date = models.DateField(_("onset date"))
    aware_at = models.DateTimeField(_("clinic became aware at"), default=timezone.now)
    severity_grade = models.PositiveSmallIntegerField(_("severity grade (1–5)"))
    death = models.BooleanField(_("death"), default=False)
    life_threatening = models.BooleanField(_("life-threatening"), default=False)
    hospitalisation = models.BooleanField(_("hospitalisation or longer stay"), default=False)
    disability = models.BooleanField(_("disability or incapacity"), default=False)
    congenital_anomaly = models.BooleanField(_("congenital anomaly"), default=False)
    other_medically_important = models.BooleanField(
        _("other medically important event"), default=False
    )
    related_harvest = models.CharField(
        _("related to the harvest"),
        max_length=20,
        choices=Relatedness.choices,
        default=Relatedness.NOT_ASSESSED,
    )
    related_cells = models.CharField(
        _("related to the cells"),
        max_length=20,
        choices=Relatedness.choices,
        default=Relatedness.NOT_ASSESSED,
    )
    related_administration = models.CharField(
        _("related to the administration"),
        max_length=20,
        choices=Relatedness.choices,
        default=Relatedness.NOT_ASSESSED,
    )
    action_taken = models.TextField(_("action taken"), blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=Outcome.choices, default=Outcome.UNKNOWN
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    reporting_level = models.CharField(_("reporting category"), max_length=30)
    recorded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    assessed_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-aware_at", "-pk"]
        # The adverse-event list's order within an organisation.
        indexes: ClassVar = [
            models.Index(
                fields=["organisation", "aware_at", "id"],
                name="ae_org_list_idx",
                condition=Q(voided_at__isnull=True),
            )
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "number"], name="ae_unique_number"),
            models.CheckConstraint(
                condition=Q(severity_grade__gte=1, severity_grade__lte=5),
                name="ae_grade_1_to_5",
            ),
            # CTCAE grade 5 is death; a death is always serious.
            models.CheckConstraint(
                condition=~Q(severity_grade=5) | Q(death=True), name="ae_grade5_is_death"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "closed"]), name="ae_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.term}"

    @property
    def serious(self) -> bool:
        return any(getattr(self, name) for name, _level in SERIOUSNESS_FIELDS)

    @property
    def seriousness_criteria(self) -> list[str]:
        return [name for name, _level in SERIOUSNESS_FIELDS if getattr(self, name)]

    @property
    def suspected(self) -> bool:
        """Suspected to be caused by the treatment: the reporting duty's trigger (Art. 35)."""
        return any(
            r in SUSPECTED
            for r in (self.related_harvest, self.related_cells, self.related_administration)
        )


class AdverseEventFollowUp(ClinicalRecord):
    """New information on an event (course, outcome, results); may change its seriousness."""

    event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="follow_ups")
    number = models.PositiveSmallIntegerField(_("follow-up number"))
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    note = models.TextField(_("new information"))
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    recorded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["event", "number"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["event", "number"], name="ae_followup_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.event.number} follow-up {self.number}"


class ReportSubmission(ClinicalRecord):
    """What was sent, when, to whom, and how: the evidence that a report left the clinic."""

    class Recipient(models.TextChoices):
        COMMITTEE = "committee", _("Certified committee")
        MINISTRY = "ministry", _("Ministry / Regional Bureau")
        PROCESSING_FACILITY = "processing_facility", _("Processing facility")
        OTHER = "other", _("Other")

    class Kind(models.TextChoices):
        INITIAL = "initial", _("Initial report")
        FOLLOW_UP = "follow_up", _("Follow-up report")

    event = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="submissions")
    follow_up = models.ForeignKey(
        AdverseEventFollowUp, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("report"), max_length=20, choices=Kind.choices)
    recipient = models.CharField(_("sent to"), max_length=30, choices=Recipient.choices)
    recipient_name = models.CharField(_("recipient name"), max_length=200, blank=True)
    channel = models.CharField(_("how it was sent"), max_length=100)
    sent_at = models.DateTimeField(_("sent at"))
    sent_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    language = models.CharField(_("language"), max_length=10, default="ja")
    document_sha256 = models.CharField(max_length=64, blank=True)
    data = models.JSONField(_("report data as sent"), default=dict)
    obligation = models.ForeignKey(
        "regulatory.Obligation", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reference = models.CharField(_("reference / receipt number"), max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-sent_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.event.number} → {self.recipient} {self.sent_at:%Y-%m-%d}"


class PatientReport(ClinicalRecord):
    """A problem reported by a patient or caregiver through the portal; triaged by staff.

    Saved first, before any notification or triage can fail, so no report is ever lost; it stays
    in the triage queue until a clinician turns it into an adverse event or closes it with a note.
    """

    class Status(models.TextChoices):
        NEW = "new", _("Waiting for triage")
        ADVERSE_EVENT = "adverse_event", _("Recorded as an adverse event")
        NOT_ADVERSE_EVENT = "not_adverse_event", _("Closed: not an adverse event")

    class Reporter(models.TextChoices):
        PATIENT = "patient", _("Patient")
        CAREGIVER = "caregiver", _("Family member or caregiver")

    class HowBad(models.TextChoices):
        MILD = "mild", _("Mild: I can do my usual activities")
        MODERATE = "moderate", _("Moderate: it limits my usual activities")
        SEVERE = "severe", _("Severe: I cannot do my usual activities")
        EMERGENCY = "emergency", _("I went to hospital or an emergency room")

    patient = models.ForeignKey(
        "journey.Patient", on_delete=models.PROTECT, related_name="problem_reports"
    )
    reporter = models.CharField(_("who is reporting"), max_length=20, choices=Reporter.choices)
    reporter_name = models.CharField(_("your name"), max_length=200, blank=True)
    contact = models.CharField(_("how we can reach you"), max_length=300, blank=True)
    started_on = models.DateField(_("when it started"), null=True, blank=True)
    description = models.TextField(_("what happened"))
    how_bad = models.CharField(_("how bad is it"), max_length=20, choices=HowBad.choices)
    language = models.CharField(max_length=10, default="en")
    submitted_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    triage_note = models.TextField(_("triage note"), blank=True)
    triaged_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    triaged_at = models.DateTimeField(null=True, blank=True)
    adverse_event = models.OneToOneField(
        AdverseEvent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="patient_report",
    )

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-submitted_at", "-pk"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=~Q(status="adverse_event") | Q(adverse_event__isnull=False),
                name="patientreport_ae_linked",
            ),
            models.CheckConstraint(
                condition=Q(status="new") | Q(triaged_at__isnull=False),
                name="patientreport_triage_recorded",
            ),
        ]

    def __str__(self) -> str:
        return f"report {self.pk} ({self.status})"
