"""Regulatory registry, provision plans with versions, obligations and periodic reports (ASRM).

Workflows live in ``services.py``; rules live in ``rules/``. These tables only hold facts and
the constraints the database can enforce on its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from saisei.core.models import ClinicalRecord, NoDeleteQuerySet
from saisei.core.timezones import today_tokyo

# --- registry ----------------------------------------------------------------------------


class MedicalInstitution(ClinicalRecord):
    """A hospital or clinic that files provision plans (ASRM Art. 4; 様式第1の2 header)."""

    site = models.OneToOneField(
        "core.Site", on_delete=models.PROTECT, related_name="medical_institution"
    )
    name = models.CharField(_("name"), max_length=100)
    name_ja = models.CharField(_("name in Japanese"), max_length=100, blank=True)
    address = models.CharField(_("address"), max_length=100, blank=True)
    administrator_name = models.CharField(_("administrator (管理者)"), max_length=100)
    emergency_capacity = models.TextField(
        _("emergency-care capacity"),
        blank=True,
        help_text=_("Beds, X-ray, ECG, infusion equipment, first response to deterioration."),
    )
    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["name"]

    def __str__(self) -> str:
        return self.name


class CertifiedCommittee(ClinicalRecord):
    """A (specially) certified regenerative-medicine committee that reviews plans (ASRM Art. 26)."""

    class Kind(models.TextChoices):
        SPECIALLY_CERTIFIED = "specially_certified", _("Specially certified committee")
        CERTIFIED = "certified", _("Certified committee")

    name = models.CharField(_("name"), max_length=200)
    name_ja = models.CharField(_("name in Japanese"), max_length=200, blank=True)
    kind = models.CharField(_("type"), max_length=30, choices=Kind.choices)
    certification_number = models.CharField(_("certification number (認定番号)"), max_length=50)
    contact = models.TextField(_("contact"), blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["name"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "certification_number"],
                name="committee_unique_cert_number",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ProcessingFacility(ClinicalRecord):
    """A cell processing facility under ASRM Ch. IV (Art. 35–54).

    Whether it may process on a day is read from its licence register
    (``FacilityAuthorisation``): no record in force on the day means not authorised.
    """

    class Authorisation(models.TextChoices):
        # The kinds of record in the register, plus "revoked" for a facility registered
        # without one (``services.facility_create``).
        NOTIFIED = "notified", _("Notification (in a medical institution)")
        LICENSED = "licensed", _("Licence")
        ACCREDITED = "accredited", _("Foreign accreditation")
        REVOKED = "revoked", _("Revoked or withdrawn")

    name = models.CharField(_("name"), max_length=200)
    name_ja = models.CharField(_("name in Japanese"), max_length=200, blank=True)
    site = models.ForeignKey(
        "core.Site",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="processing_facilities",
    )
    facility_number = models.CharField(_("facility number (施設番号)"), max_length=50)
    manager_name = models.CharField(_("facility manager"), max_length=100)
    country = models.CharField(_("country"), max_length=2, default="JP")
    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["name"]
        verbose_name_plural = "processing facilities"
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "facility_number"], name="facility_unique_number"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def register(self) -> list[Any]:
        """The licence register, oldest first (uses ``prefetch_related("authorisations")``)."""
        rows = [a for a in self.authorisations.all() if a.voided_at is None]
        return sorted(rows, key=lambda a: (a.valid_from, a.pk))

    def authorisation_on(self, day: dt.date) -> Any:
        """The register record in force on ``day``, or None (not authorised)."""
        live = [a for a in self.register() if a.in_force_on(day)]
        return live[-1] if live else None

    def authorised_on(self, day: dt.date) -> bool:
        return self.authorisation_on(day) is not None


class Physician(ClinicalRecord):
    """A physician who may be listed in plans, linked to a staff account (様式第1の2 item 2)."""

    user = models.OneToOneField("core.User", on_delete=models.PROTECT, related_name="physician")
    name = models.CharField(_("name"), max_length=100)
    name_ja = models.CharField(_("name in Japanese"), max_length=100, blank=True)
    licence_number = models.CharField(_("medical licence number"), max_length=30)
    institution = models.ForeignKey(
        MedicalInstitution,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="physicians",
    )
    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["name"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "licence_number"], name="physician_unique_licence"
            )
        ]

    def __str__(self) -> str:
        return self.name


# --- provision plans ---------------------------------------------------------------------


class PlanState(models.TextChoices):
    """Mirrors ``rules.lifecycle.PlanState``; the transition table lives there."""

    DRAFT = "draft", _("Draft")
    COMMITTEE_REVIEW = "committee_review", _("Committee review")
    OPINION_FAVOURABLE = "opinion_favourable", _("Favourable opinion")
    CHANGES_REQUESTED = "changes_requested", _("Changes requested")
    OPINION_UNFAVOURABLE = "opinion_unfavourable", _("Unfavourable opinion")
    SUBMITTED = "submitted", _("Submitted")
    ACCEPTED = "accepted", _("Accepted")
    IN_FORCE = "in_force", _("In force")
    SUSPENDED = "suspended", _("Suspended")
    CHANGE_ORDERED = "change_ordered", _("Change ordered")
    SUPERSEDED = "superseded", _("Superseded")
    DISCONTINUED = "discontinued", _("Discontinued")
    CLOSED = "closed", _("Closed")


class CellOrigin(models.TextChoices):
    AUTOLOGOUS = "autologous", _("Autologous")
    ALLOGENEIC = "allogeneic", _("Allogeneic")
    XENOGENEIC = "xenogeneic", _("Xenogeneic")


class CellType(models.TextChoices):
    ES = "es", _("ES cells")
    IPS = "ips", _("iPS cells")
    IPS_LIKE = "ips_like", _("iPS-like cells")
    SOMATIC_STEM = "somatic_stem", _("Somatic stem cells")
    SOMATIC = "somatic", _("Somatic cells")


class ProvisionPlan(ClinicalRecord):
    """A provision plan (再生医療等提供計画) as filed under one plan number (ASRM Art. 4).

    Its content lives in ``PlanVersion`` rows; ``status`` is the headline state shown on lists,
    recomputed by the services from the versions after each transition.
    """

    institution = models.ForeignKey(
        MedicalInstitution, on_delete=models.PROTECT, related_name="plans"
    )
    title = models.CharField(_("treatment name"), max_length=150)
    plan_number = models.CharField(_("plan number (計画番号)"), max_length=60, blank=True)
    status = models.CharField(
        _("status"), max_length=30, choices=PlanState.choices, default=PlanState.DRAFT
    )
    risk_class = models.PositiveSmallIntegerField(_("risk class"))
    # Anchors of the deadline rules: the first filing (提出した日) starts both the 60-day AE
    # windows (Reg. Art. 35) and the yearly periodic-report periods (ASRM Art. 20–21); the
    # first acceptance only marks that the periods run.
    first_submitted_date = models.DateField(_("first submitted"), null=True, blank=True)
    first_accepted_date = models.DateField(_("first accepted"), null=True, blank=True)
    discontinued_date = models.DateField(_("discontinued"), null=True, blank=True)
    follow_up_end_date = models.DateField(_("follow-up ends"), null=True, blank=True)
    closed_date = models.DateField(_("closed"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["title"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "plan_number"],
                condition=~Q(plan_number=""),
                name="plan_unique_number",
            ),
            models.CheckConstraint(
                condition=Q(risk_class__gte=1, risk_class__lte=3), name="plan_risk_class_1_3"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.plan_number})" if self.plan_number else self.title


class PlanVersion(ClinicalRecord):
    """One version of a plan's content, running its own lifecycle (draft → … → in force).

    Field list follows 様式第1の2 items 1–7 as far as the facts sheet covers them; a non-minor
    change is a new version reviewed while the previous one stays in force (ASRM Art. 5, 10).
    """

    plan = models.ForeignKey(ProvisionPlan, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    state = models.CharField(
        _("state"), max_length=30, choices=PlanState.choices, default=PlanState.DRAFT
    )
    change_summary = models.TextField(_("what changed"), blank=True)
    treatment_name = models.CharField(_("treatment name"), max_length=150)
    target_disease = models.CharField(_("target disease"), max_length=100)
    eligibility_summary = models.TextField(_("eligibility summary"), max_length=4000, blank=True)
    cell_origin = models.CharField(_("cell source"), max_length=20, choices=CellOrigin.choices)
    cell_type = models.CharField(_("cell type"), max_length=20, choices=CellType.choices)
    tissue = models.CharField(_("tissue"), max_length=100, blank=True)
    cell_characteristics = models.TextField(_("cell characteristics"), blank=True)
    gene_introduced = models.BooleanField(_("gene introduced"), default=False)
    gene_edited = models.BooleanField(_("gene edited"), default=False)
    cultured = models.BooleanField(_("cultured"), default=True)
    homologous_use = models.BooleanField(_("homologous use"), default=False)
    routes = models.JSONField(_("routes allowed"), default=list)
    dose_min_cells = models.BigIntegerField(_("minimum dose (cells)"), null=True, blank=True)
    dose_max_cells = models.BigIntegerField(_("maximum dose (cells)"), null=True, blank=True)
    max_administrations = models.PositiveIntegerField(
        _("maximum number of administrations"), null=True, blank=True
    )
    physicians = models.ManyToManyField(
        Physician, blank=True, related_name="plan_versions", verbose_name=_("physicians")
    )
    facilities = models.ManyToManyField(
        ProcessingFacility,
        blank=True,
        related_name="plan_versions",
        verbose_name=_("processing facilities"),
    )
    committee = models.ForeignKey(
        CertifiedCommittee,
        verbose_name=_("committee"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="plan_versions",
    )
    consent_document_versions = models.JSONField(_("consent document versions"), default=list)
    declared_risk_class = models.PositiveSmallIntegerField(_("declared risk class"))
    computed_risk_class = models.PositiveSmallIntegerField(
        _("computed risk class"), null=True, blank=True
    )
    classification_reasons = models.JSONField(default=list, blank=True)
    documents_complete = models.BooleanField(_("documents complete"), default=False)
    reception_number = models.CharField(_("reception number (受付番号)"), max_length=60, blank=True)
    # Items the plan form (様式第1の2) asks for; every one is a non-minor change (rules.changes).
    responsible_physician = models.ForeignKey(
        Physician,
        verbose_name=_("responsible physician (実施責任者)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="responsible_for_versions",
    )
    patient_price_yen = models.PositiveIntegerField(
        _("price the patient pays (yen)"), null=True, blank=True
    )
    research_registration_number = models.CharField(
        _("research registration number (e.g. jRCT)"), max_length=40, blank=True
    )
    cell_name = models.CharField(_("name of the processed cells"), max_length=150, blank=True)
    cell_processing_summary = models.TextField(
        _("processing summary (細胞の概要)"), max_length=4000, blank=True
    )
    # Administrative details (様式第1の2 header and contacts): the only fields a minor change may
    # set (rules.changes.MINOR_CHANGE_FIELDS).
    administrator_name = models.CharField(_("administrator (管理者)"), max_length=100, blank=True)
    contact_person = models.CharField(
        _("administrative contact (事務担当者)"), max_length=100, blank=True
    )
    contact_phone = models.CharField(_("contact telephone"), max_length=30, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    # Dates of each step, set by the transitions.
    review_requested_date = models.DateField(null=True, blank=True)
    opinion_date = models.DateField(null=True, blank=True)
    submitted_date = models.DateField(null=True, blank=True)
    accepted_date = models.DateField(null=True, blank=True)
    in_force_from = models.DateField(null=True, blank=True)
    in_force_until = models.DateField(null=True, blank=True)
    suspended_date = models.DateField(null=True, blank=True)
    discontinued_date = models.DateField(null=True, blank=True)
    closed_date = models.DateField(null=True, blank=True)
    history = HistoricalRecords(m2m_fields=[physicians, facilities])

    class Meta:
        ordering: ClassVar = ["plan_id", "number"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["plan", "number"], name="planversion_unique_number"),
            models.CheckConstraint(
                condition=Q(dose_min_cells__isnull=True)
                | Q(dose_max_cells__isnull=True)
                | Q(dose_min_cells__lte=models.F("dose_max_cells")),
                name="planversion_dose_range_ordered",
            ),
            models.CheckConstraint(
                condition=Q(dose_min_cells__isnull=True) | Q(dose_min_cells__gt=0),
                name="planversion_dose_positive",
            ),
            models.CheckConstraint(
                condition=Q(max_administrations__isnull=True) | Q(max_administrations__gte=1),
                name="planversion_max_admin_positive",
            ),
            models.CheckConstraint(
                condition=Q(declared_risk_class__gte=1, declared_risk_class__lte=3),
                name="planversion_declared_class_1_3",
            ),
            models.CheckConstraint(
                condition=Q(in_force_from__isnull=True)
                | Q(in_force_until__isnull=True)
                | Q(in_force_until__gte=models.F("in_force_from")),
                name="planversion_in_force_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan.title} v{self.number}"

    # Fields compared in the version diff and copied into a new draft.
    CONTENT_FIELDS: ClassVar[tuple[str, ...]] = (
        "treatment_name",
        "target_disease",
        "eligibility_summary",
        "cell_origin",
        "cell_type",
        "tissue",
        "cell_characteristics",
        "gene_introduced",
        "gene_edited",
        "cultured",
        "homologous_use",
        "routes",
        "dose_min_cells",
        "dose_max_cells",
        "max_administrations",
        "consent_document_versions",
        "declared_risk_class",
        "committee_id",
        "responsible_physician_id",
        "patient_price_yen",
        "research_registration_number",
        "cell_name",
        "cell_processing_summary",
        "administrator_name",
        "contact_person",
        "contact_phone",
        "contact_email",
    )


class PlanTransition(ClinicalRecord):
    """Append-only log of lifecycle steps, with the date each step took effect."""

    plan = models.ForeignKey(ProvisionPlan, on_delete=models.PROTECT, related_name="transitions")
    version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="transitions")
    name = models.CharField(max_length=50)
    from_state = models.CharField(max_length=30, choices=PlanState.choices)
    to_state = models.CharField(max_length=30, choices=PlanState.choices)
    effective_date = models.DateField()
    actor = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)
    reference = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering: ClassVar = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.version}: {self.name} ({self.from_state} → {self.to_state})"


# --- obligations -------------------------------------------------------------------------


class ObligationKind(models.TextChoices):
    PERIODIC_REPORT = "periodic_report", _("Periodic report")
    ADVERSE_EVENT = "adverse_event", _("Adverse-event report")
    AE_BATCH = "ae_batch", _("60-day batch report of adverse events")
    PROCESSOR_NOTICE = "processor_notice", _("Notice to the processing facility")
    MINOR_CHANGE = "minor_change", _("Minor-change notice")
    FACILITY_REPORT = "facility_report", _("Processing facility's yearly report")
    DISCONTINUATION = "discontinuation", _("Discontinuation notice")
    END_OF_PROVISION = "end_of_provision", _("End-of-provision notice")
    FACILITY_CHANGE = "facility_change", _("Processing facility's change notice")
    LICENCE_RENEWAL = "licence_renewal", _("Licence renewal")


class Recipient(models.TextChoices):
    COMMITTEE = "committee", _("Certified committee")
    MINISTRY = "ministry", _("Ministry / Regional Bureau")
    PROCESSING_FACILITY = "processing_facility", _("Processing facility")


class ObligationQuerySet(NoDeleteQuerySet):
    def open(self) -> ObligationQuerySet:
        return self.filter(status=Obligation.Status.OPEN, voided_at__isnull=True)

    def overdue(self, today: dt.date | None = None) -> ObligationQuerySet:
        return self.open().filter(due_date__lt=today or today_tokyo())

    def due_within(self, days: int, today: dt.date | None = None) -> ObligationQuerySet:
        day = today or today_tokyo()
        return self.open().filter(due_date__gte=day, due_date__lte=day + dt.timedelta(days=days))


class ObligationManager(models.Manager.from_queryset(ObligationQuerySet)):  # type: ignore[misc]
    pass


class Obligation(ClinicalRecord):
    """A dated duty to report or notify, produced by a deadline rule; never deleted.

    ``status`` stores open/done; "overdue" is open with a due date before today in Japan, so it
    never goes stale.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")

    # An obligation belongs to a plan, or to a processing facility for the facility's own duties
    # (its yearly manufacturing report); never to both. Neither only for a patient's adverse
    # event that no plan covers: its reports are still owed (ASRM Art. 17-18), and the missing
    # plan is itself the finding to explain.
    plan = models.ForeignKey(
        ProvisionPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="obligations"
    )
    facility = models.ForeignKey(
        ProcessingFacility,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="obligations",
    )
    kind = models.CharField(_("kind"), max_length=30, choices=ObligationKind.choices)
    recipient = models.CharField(_("recipient"), max_length=30, choices=Recipient.choices)
    title = models.CharField(_("what to do"), max_length=300)
    due_date = models.DateField(_("due date"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    rule_id = models.CharField(_("rule"), max_length=60)
    source = models.CharField(_("legal source"), max_length=300)
    subject_type = models.CharField(max_length=80)
    subject_id = models.CharField(max_length=80)
    trigger_date = models.DateField(_("triggered on"), null=True, blank=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_date = models.DateField(_("submitted on"), null=True, blank=True)
    evidence = models.TextField(_("evidence of submission"), blank=True)
    history = HistoricalRecords()

    objects = ObligationManager()  # type: ignore[misc]

    class Meta:
        ordering: ClassVar = ["due_date", "pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "rule_id", "subject_type", "subject_id"],
                name="obligation_unique_per_rule_subject",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(done_at__isnull=False, submitted_date__isnull=False),
                name="obligation_done_has_evidence_date",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "done"]), name="obligation_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(plan__isnull=True) | Q(facility__isnull=True),
                name="obligation_plan_or_facility",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["organisation", "status", "due_date"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.due_date})"

    @property
    def concerns_label(self) -> str:
        """What the duty is about, for lists: the plan's title or the facility's name."""
        if self.plan_id is not None:
            return self.plan.title  # type: ignore[union-attr]
        if self.facility_id is not None:
            return self.facility.name  # type: ignore[union-attr]
        return str(_("No provision plan covers this event"))

    @property
    def concerns_url(self) -> str:
        if self.plan_id is not None:
            return reverse("regulatory:plan_detail", args=[self.plan.external_id])  # type: ignore[union-attr]
        if self.facility_id is not None:
            return reverse("regulatory:facility_detail", args=[self.facility.external_id])  # type: ignore[union-attr]
        return ""

    def effective_status(self, today: dt.date | None = None) -> str:
        if self.status == self.Status.OPEN and self.due_date < (today or today_tokyo()):
            return "overdue"
        return str(self.status)

    @property
    def is_overdue(self) -> bool:
        return self.effective_status() == "overdue"


class PeriodicReport(ClinicalRecord):
    """The yearly periodic report (定期報告, 別紙様式第3) for one period of a plan (ASRM Art. 20–21)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        COMMITTEE_REVIEWED = "committee_reviewed", _("Reviewed by committee")
        SUBMITTED = "submitted", _("Submitted")

    plan = models.ForeignKey(
        ProvisionPlan, on_delete=models.PROTECT, related_name="periodic_reports"
    )
    obligation = models.OneToOneField(
        Obligation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="periodic_report",
    )
    period_index = models.PositiveIntegerField()
    period_start = models.DateField()
    period_end = models.DateField()
    due_date = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    data = models.JSONField(default=dict, blank=True)
    assembled_at = models.DateTimeField(null=True, blank=True)
    committee_review_date = models.DateField(null=True, blank=True)
    committee_opinion = models.TextField(blank=True)
    submitted_date = models.DateField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["plan_id", "period_index"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["plan", "period_index"], name="periodicreport_unique_period"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="periodicreport_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} #{self.period_index}"


# --- compliance gate -----------------------------------------------------------------------


class GateRefusal(ClinicalRecord):
    """An act the compliance gate refused, kept as evidence that the rule held (DESIGN invariant 1).

    Written by ``services.gate_require`` whenever a harvest or an administration is refused, so
    a refused attempt is shown as a refusal, never recorded as the act. The patient is named by
    code because the patient lives in a higher app (journey).
    """

    act = models.CharField(_("act"), max_length=30)
    plan = models.ForeignKey(
        ProvisionPlan,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="gate_refusals",
    )
    physician = models.ForeignKey(
        Physician, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    physician_name = models.CharField(_("performing physician"), max_length=200, blank=True)
    patient_code = models.CharField(_("patient"), max_length=40, blank=True)
    subject = models.CharField(_("what was attempted"), max_length=200, blank=True)
    attempted_at = models.DateTimeField(_("time of the act"))
    findings = models.JSONField(default=list)
    rules = models.JSONField(default=list)
    recorded_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["-attempted_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.act} {self.patient_code} {self.attempted_at:%Y-%m-%d}"


# --- official forms and the documents generated from them ------------------------------------


class FormVersion(ClinicalRecord):
    """One version of an official form (様式) as the ministry publishes it, with its source.

    The shipped versions come from ``rules.forms.FORMS``; a clinic adds a new version when the
    ministry revises a form. A generated document follows the version in effect on its date.
    """

    form_code = models.CharField(_("form"), max_length=40)
    name_ja = models.CharField(_("form name in Japanese"), max_length=200)
    version = models.CharField(_("version"), max_length=60)
    effective_from = models.DateField(_("in effect from"))
    source = models.CharField(_("legal source"), max_length=400)
    certain = models.BooleanField(_("verified against the primary text"), default=False)
    note = models.TextField(_("note"), blank=True)
    added_by = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["form_code", "-effective_from"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["organisation", "form_code", "version"], name="formversion_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name_ja} ({self.version})"


class FiledDocument(ClinicalRecord):
    """A document generated from the records in the layout of an official form, kept as filed."""

    form_version = models.ForeignKey(
        FormVersion, on_delete=models.PROTECT, related_name="documents"
    )
    form_code = models.CharField(_("form"), max_length=40)
    subject_type = models.CharField(max_length=80)
    subject_id = models.CharField(max_length=80)
    subject_label = models.CharField(_("subject"), max_length=200)
    plan = models.ForeignKey(
        ProvisionPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    generated_at = models.DateTimeField(_("generated at"), auto_now_add=True)
    generated_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    sha256 = models.CharField(_("SHA-256 of the PDF"), max_length=64)
    items = models.JSONField(default=list)
    pdf = models.BinaryField()

    class Meta:
        ordering: ClassVar = ["-generated_at"]
        indexes: ClassVar = [models.Index(fields=["organisation", "form_code", "subject_id"])]

    def __str__(self) -> str:
        return f"{self.form_code} {self.subject_label}"


class StandardDocument(ClinicalRecord):
    """A processing facility's product standard (標準書) or SOP, one row per version.

    The GMP-like document set is required of every CPC (Enforcement Regulation Art. 97, 99,
    100); a lot records the versions in force when it was made.
    """

    class Kind(models.TextChoices):
        STANDARD = "standard", _("Product standard (標準書)")
        SOP = "sop", _("Standard operating procedure (SOP)")

    facility = models.ForeignKey(
        ProcessingFacility, on_delete=models.PROTECT, related_name="standard_documents"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    plan = models.ForeignKey(
        ProvisionPlan,
        verbose_name=_("plan (for a product standard)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="standard_documents",
    )
    document_number = models.CharField(_("document number"), max_length=60)
    title = models.CharField(_("title"), max_length=200)
    version = models.CharField(_("version"), max_length=30)
    effective_from = models.DateField(_("in effect from"))
    approved_by = models.CharField(_("approved by"), max_length=100)
    history = HistoricalRecords()

    class Meta:
        ordering: ClassVar = ["facility_id", "kind", "document_number", "-effective_from"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["facility", "document_number", "version"], name="standarddoc_unique"
            ),
            models.CheckConstraint(
                condition=~Q(kind="standard") | Q(plan__isnull=False),
                name="standarddoc_standard_has_plan",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document_number} v{self.version} {self.title}"


from saisei.regulatory.duties_models import (  # noqa: E402, F401  (the register and duties, issue 16)
    AuthorisationKind,
    CommitteeAction,
    CommitteeOpinion,
    Complaint,
    FacilityAuthorisation,
    FacilityChange,
    FacilityChangeKind,
    PeriodicCheck,
)
