"""Outcome registry tables: the clinic's editable references, schedules, assessments and biomarkers.

Scoring rules live in ``instruments.py`` (data, not tables); these tables hold what a clinic
records and what it may edit: natural-history references with their sources, rater
credentials for licensed instruments, assessment schedules per treatment course, and results.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from saisei.core.models import ClinicalRecord, ExternalIdModel
from saisei.outcomes.reference import STAGES

STAGE_CHOICES = [(k, v) for k, v in STAGES.items()]


class ReferenceBase(ExternalIdModel):
    """An editable reference row owned by a clinic; the defaults from the facts sheet fill gaps."""

    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    measure = models.CharField(_("measure"), max_length=30)
    source = models.TextField(_("source"))
    note = models.TextField(_("note"), blank=True)
    uncertain = models.BooleanField(_("uncertain estimate"), default=False)
    # An inactive row hides the default for its key without deleting anything.
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        abstract = True


class NaturalHistoryReference(ReferenceBase):
    """Expected annual change without treatment and its between-person SD (facts/outcomes.md §3.3)."""

    stage = models.CharField(_("stage"), max_length=20, choices=STAGE_CHOICES)
    annual_change = models.FloatField(_("expected change per year"))
    sd = models.FloatField(_("SD of individual annual change"))

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["measure", "stage"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "measure", "stage"], name="outcomes_reference_unique"
            ),
            models.CheckConstraint(condition=Q(sd__gte=0), name="outcomes_reference_sd_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.measure} {self.stage}: {self.annual_change:+g}/yr"


class McidReference(ReferenceBase):
    """Minimal clinically important within-patient change (facts/outcomes.md §3.4)."""

    stage = models.CharField(_("stage"), max_length=20, choices=STAGE_CHOICES, blank=True)
    value = models.FloatField(_("MCID"))
    low = models.FloatField(_("lowest published value"))
    high = models.FloatField(_("highest published value"))

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["measure", "stage"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "measure", "stage"], name="outcomes_mcid_unique"
            ),
            models.CheckConstraint(condition=Q(value__gt=0), name="outcomes_mcid_positive"),
            models.CheckConstraint(
                condition=Q(low__lte=models.F("high")), name="outcomes_mcid_range"
            ),
        ]

    def __str__(self) -> str:
        return f"MCID {self.measure} {self.stage or '*'}: {self.value:g}"


class MeasurementErrorReference(ReferenceBase):
    """Standard error of measurement (retest noise) of one assessment of a measure."""

    sem = models.FloatField(_("standard error of measurement"))

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["measure"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["organisation", "measure"], name="outcomes_sem_unique"),
            models.CheckConstraint(condition=Q(sem__gt=0), name="outcomes_sem_positive"),
        ]

    def __str__(self) -> str:
        return f"SEM {self.measure}: {self.sem:g}"


class RaterCredential(ClinicalRecord):
    """A staff rater's licence or certification for one licensed instrument (facts §1.2).

    MoCA needs a certified rater (certification lasts 2 years); MMSE, CDR, NPI-Q, ZBI and QoL-AD
    need the clinic's licence, whose reference is recorded here.
    """

    class Kind(models.TextChoices):
        CERTIFICATION = "certification", _("Rater certification")
        LICENCE = "licence", _("Licence held by the clinic")

    user = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    instrument = models.CharField(_("instrument"), max_length=30)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    reference = models.CharField(_("licence or certificate reference"), max_length=200)
    holder = models.CharField(_("licence holder"), max_length=200, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["user_id", "instrument", "-expires_on"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=~Q(reference=""), name="outcomes_credential_reference_required"
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(expires_on__isnull=True)
                | Q(expires_on__gte=models.F("valid_from")),
                name="outcomes_credential_dates",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.instrument} {self.reference}"


DEFAULT_FOLLOW_UP_MONTHS = [3, 6, 12]
DEFAULT_INSTRUMENTS = ["MMSE", "CDR", "NPI-Q", "DIARY"]


class AssessmentSchedule(ClinicalRecord):
    """The outcome visits of one treatment course: baseline before harvest, before each infusion,
    and months after the last infusion (issue 7 §2; offsets are data the clinic may change)."""

    course = models.OneToOneField(
        "journey.TreatmentCourse", on_delete=models.PROTECT, related_name="assessment_schedule"
    )
    patient = models.ForeignKey(
        "journey.Patient", on_delete=models.PROTECT, related_name="assessment_schedules"
    )
    # The physician's choice of natural history for this course; blank follows the patient's
    # recorded stage (journey pre-screen), and with none recorded nothing is compared.
    stage = models.CharField(
        _("stage used for the expected course"),
        max_length=20,
        choices=STAGE_CHOICES,
        blank=True,
        default="",
    )
    baseline_days_before_harvest = models.PositiveSmallIntegerField(
        _("baseline: days before harvest"), default=7
    )
    pre_infusion_days = models.PositiveSmallIntegerField(
        _("before each infusion: days before"), default=0
    )
    follow_up_months = models.JSONField(_("months after the last infusion"), default=list)
    window_days = models.PositiveSmallIntegerField(_("days allowed after the due date"), default=14)
    instruments = models.JSONField(_("instruments at each visit"), default=list)
    # Leaving follow-up is recorded, never inferred, because dropouts are rarely random (facts §4).
    follow_up_ended_on = models.DateField(_("follow-up ended on"), null=True, blank=True)
    follow_up_end_reason = models.TextField(_("why follow-up ended"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-created_at"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(follow_up_ended_on__isnull=True) | ~Q(follow_up_end_reason=""),
                name="outcomes_follow_up_end_needs_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"schedule for course {self.course_id}"


class ScheduledAssessment(ClinicalRecord):
    """One planned outcome visit; it is done when an assessment is linked, missed with a reason."""

    class Kind(models.TextChoices):
        BASELINE = "baseline", _("Baseline before harvest")
        PRE_INFUSION = "pre_infusion", _("Before infusion")
        FOLLOW_UP = "follow_up", _("Follow-up after the last infusion")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        DONE = "done", _("Done")
        MISSED = "missed", _("Missed")
        CANCELLED = "cancelled", _("Cancelled")

    schedule = models.ForeignKey(
        AssessmentSchedule, on_delete=models.PROTECT, related_name="visits"
    )
    patient = models.ForeignKey("journey.Patient", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # infusion number for pre_infusion, months for follow_up, 1 for baseline
    number = models.PositiveSmallIntegerField(default=1)
    due_date = models.DateField(_("due date"))
    window_days = models.PositiveSmallIntegerField(default=14)
    instruments = models.JSONField(default=list)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PLANNED
    )
    status_reason = models.TextField(_("reason"), blank=True)
    completed_on = models.DateField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["due_date", "kind", "number"]
        indexes: ClassVar = [
            # The due and overdue worklists: a clinic's planned visits by due date.
            models.Index(
                fields=["organisation", "status", "due_date"],
                condition=models.Q(voided_at__isnull=True),
                name="visit_org_status_due_idx",
            ),
            # The widest and narrowest window of a clinic's planned visits (the worklists'
            # bounds): the two ends of this index.
            models.Index(
                fields=["organisation", "window_days"],
                condition=models.Q(voided_at__isnull=True, status="planned"),
                name="visit_org_planned_window_idx",
            ),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["schedule", "kind", "number"], name="outcomes_visit_unique"
            ),
            models.CheckConstraint(
                condition=~Q(status="missed") | ~Q(status_reason=""),
                name="outcomes_missed_needs_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number} due {self.due_date}"


class Assessment(ClinicalRecord):
    """One administration of an instrument: the values entered and the scores computed from them.

    FHIR: a QuestionnaireResponse with one Observation (category survey) per measure. Licensed
    instruments hold totals and sub-scores only, never item text (facts §1.2, §7).
    """

    class Source(models.TextChoices):
        STAFF = "staff", _("Entered by clinic staff")
        PORTAL = "portal", _("Answered by the family in the portal")

    class Mode(models.TextChoices):
        IN_PERSON = "in_person", _("In person")
        PHONE = "phone", _("By phone or video")
        PORTAL = "portal", _("Online (portal)")

    patient = models.ForeignKey(
        "journey.Patient", on_delete=models.PROTECT, related_name="assessments"
    )
    course = models.ForeignKey(
        "journey.TreatmentCourse",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    visit = models.ForeignKey(
        ScheduledAssessment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assessments",
    )
    instrument = models.CharField(_("instrument"), max_length=30)
    instrument_version = models.CharField(max_length=20, default="1")
    assessed_on = models.DateField(_("date of assessment"))
    values = models.JSONField(default=dict)
    total = models.FloatField(null=True, blank=True)
    subscores = models.JSONField(default=dict)
    measures = models.JSONField(default=dict)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.STAFF)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.IN_PERSON)
    rater = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rater_credential = models.ForeignKey(
        RaterCredential, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    respondent_name = models.CharField(_("answered by"), max_length=200, blank=True)
    language = models.CharField(max_length=10, blank=True)
    note = models.TextField(_("note"), blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["patient_id", "assessed_on", "id"]
        indexes: ClassVar = [
            models.Index(fields=["patient", "instrument", "assessed_on"]),
            # The assessment list's order within an organisation (all, or one instrument).
            models.Index(
                fields=["organisation", "assessed_on", "id"],
                name="assessment_org_list_idx",
                condition=Q(voided_at__isnull=True),
            ),
            models.Index(
                fields=["organisation", "instrument", "assessed_on", "id"],
                name="assessment_org_instr_idx",
                condition=Q(voided_at__isnull=True),
            ),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(source="portal") | Q(rater__isnull=False),
                name="outcomes_staff_entry_has_rater",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.assessed_on} ({self.total})"


class BiomarkerDefinition(ExternalIdModel):
    """A blood biomarker the clinic measures; LOINC codes are data because public lists disagree (facts §5)."""

    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="+"
    )
    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=200)
    unit = models.CharField(_("unit"), max_length=30)
    matrix = models.CharField(_("specimen"), max_length=30, default="plasma")
    reference_low = models.FloatField(_("reference range low"), null=True, blank=True)
    reference_high = models.FloatField(_("reference range high"), null=True, blank=True)
    reference_note = models.TextField(_("reference range note"), blank=True)
    loinc = models.CharField(_("LOINC code"), max_length=20, blank=True)
    loinc_uncertain = models.BooleanField(_("LOINC code unconfirmed"), default=False)
    exploratory = models.BooleanField(_("exploratory, not a validated marker"), default=False)
    source = models.TextField(_("source"), blank=True)
    is_active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["code"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "code"], name="outcomes_biomarker_code"
            ),
            models.CheckConstraint(
                condition=Q(reference_low__isnull=True)
                | Q(reference_high__isnull=True)
                | Q(reference_low__lte=models.F("reference_high")),
                name="outcomes_biomarker_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.unit})"


class BiomarkerResult(ClinicalRecord):
    """One lab result; the same lab and assay should be used across a patient's series (facts §5)."""

    patient = models.ForeignKey(
        "journey.Patient", on_delete=models.PROTECT, related_name="biomarker_results"
    )
    definition = models.ForeignKey(
        BiomarkerDefinition, on_delete=models.PROTECT, related_name="results"
    )
    value = models.FloatField(_("value"))
    unit = models.CharField(_("unit"), max_length=30)
    collected_on = models.DateField(_("sample collected on"))
    lab = models.CharField(_("laboratory"), max_length=200, blank=True)
    assay = models.CharField(_("assay"), max_length=200, blank=True)
    note = models.TextField(_("note"), blank=True)
    entered_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")

    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["patient_id", "definition_id", "collected_on"]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(value__gte=0), name="outcomes_biomarker_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.definition_id} {self.value} {self.unit}"


class CohortFitResult(models.Model):
    """One plan's cohort on one measure as the page and API show it, computed by the worker.

    A derived cache, not a record (no ledger entry, no retention row; it cascades with the plan):
    ``summary`` holds the counts, visits, adverse events and chart sample, ``fit`` the model's
    estimate. ``ledger_seq`` is the organisation's ledger position when it was computed and
    ``as_of`` the day: a reader compares both with now to tell whether it is current (decision
    0039). ``fingerprint`` hashes exactly the model's inputs, so an unchanged cohort is not
    fitted again; ``queued_at`` keeps requests from queuing the same work twice.
    """

    plan = models.ForeignKey("regulatory.ProvisionPlan", on_delete=models.CASCADE, related_name="+")
    measure = models.CharField(_("measure"), max_length=30)
    fingerprint = models.CharField(max_length=64, blank=True)
    fit = models.JSONField(default=dict)
    summary = models.JSONField(default=dict)
    n_enrolled = models.PositiveIntegerField(default=0)
    ledger_seq = models.PositiveBigIntegerField(null=True, blank=True)
    as_of = models.DateField(null=True, blank=True)
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["plan", "measure"], name="outcomes_cohort_fit_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} {self.measure} {self.computed_at}"
