"""How long each record class is kept, from which event, and the guard that refuses early disposal.

The table is data: one ``RetentionRule`` per record class (``app_label.ModelName``) with its
period in years, the event the period runs from (a date field of the record), the legal source
and whether the period is certain. Where the law was not found or only a secondary source states
it, the row says so in plain words (``certain=False``) and the period is configurable:
``SAISEI_RETENTION_YEARS = {"app.Model": years}`` may lengthen any row and may shorten only an
uncertain one (a certain legal minimum is never shortened by configuration).

The guard is in one place, ``retention_guard``, called by ``core.audit.audit_record`` for every
action that ends a record's life early:

- ``<noun>.purge`` and ``<noun>.retention_void`` (disposal at the end of the period) are refused
  until the period has run out; the period has not started while its start event has no date.
- ``<noun>.void`` (withdrawing an entry made in error; the row, its history and the ledger entry
  stay and are still kept, counted and archived) is allowed for a class with a row.
- Every one of them is refused for a class that has no row (fail closed).

Decision record 0023 explains the split between a void and a disposal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Count, Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from saisei.core.errors import Conflict
from saisei.core.timezones import today_tokyo


@dataclass(frozen=True)
class StartEvent:
    code: str
    label: str  # English msgid
    field: str  # the record's date or datetime field; null = the event has not happened yet


MADE = StartEvent("record_made", gettext_noop("the day the record was made"), "created_at")
LAST_CHANGE = StartEvent(
    "last_change",
    gettext_noop("the record's last change (the last provision or event it records)"),
    "updated_at",
)
PROGRAMME_END = StartEvent(
    "programme_end", gettext_noop("the end of the programme (the plan is closed)"), "closed_date"
)
AT = StartEvent("at", gettext_noop("the day of the event the entry records"), "at")


# Sources (the original law or standard; the facts sheet's secondary sources are named in docs).
ASRM_RECORDS = gettext_noop(
    "Act on the Safety of Regenerative Medicine Art. 16 and its Enforcement Regulation Art. 34 "
    "(records of provision, kept 10 years with the plan, the consent and the cell summary)"
)
ASRM_30Y = gettext_noop(
    "Act on the Safety of Regenerative Medicine, Enforcement Regulation (a 30-year period applies "
    "to some categories; which ones was not confirmed) and, for comparison, Regulation (EC) "
    "1394/2007 Art. 15 (traceability data kept 30 years after expiry)"
)
ASRM_MANUFACTURING = gettext_noop(
    "Act on the Safety of Regenerative Medicine Art. 35–54 and the Enforcement Regulation's "
    "manufacturing control (the retention period of processing records was not found; kept as "
    "long as the records of provision they support)"
)
ASRM_PLAN = gettext_noop(
    "Act on the Safety of Regenerative Medicine Art. 4–6 and 16 (the plan and its filings are "
    "kept with the records of provision; the start at the programme's end is our reading)"
)
MEDICAL_PRACTITIONERS = gettext_noop(
    "Medical Practitioners' Act Art. 24(2) (medical records, 5 years)"
)
TAX = gettext_noop(
    "Corporation Tax Act Art. 126 and its Enforcement Regulation Art. 59 (books and transaction "
    "documents, 7 years; whether quotes count was not confirmed)"
)
APPI = gettext_noop(
    "Act on the Protection of Personal Information Art. 22 (delete when no longer needed; no "
    "minimum period — the clinic's own period)"
)
APPI_THIRD_PARTY = gettext_noop(
    "Act on the Protection of Personal Information Art. 28–29 and its Enforcement Rules (a record "
    "of each provision to a third party is kept 1 to 3 years; 3 years taken here)"
)
GMP_INTEGRITY = gettext_noop(
    "ALCOA+ data integrity (PIC/S PI 041): the trail is kept as long as the longest record it "
    "covers (no separate legal period found)"
)


@dataclass(frozen=True)
class RetentionRule:
    model: str  # "app_label.ModelName"
    years: int
    start: StartEvent
    source: str  # English msgid
    certain: bool = True
    note: str = ""  # English msgid; why a row is uncertain


def _r(
    models_: str, years: int, start: StartEvent, source: str, certain: bool = True
) -> list[RetentionRule]:
    return [RetentionRule(m, years, start, source, certain) for m in models_.split()]


RULES: tuple[RetentionRule, ...] = tuple(
    # Records of provision: the patient, consent, course, treatment, outcomes, safety.
    _r(
        "journey.Patient journey.LegalProxy journey.Consent journey.ConsentDocument "
        "journey.TreatmentCourse journey.CourseStep",
        10,
        LAST_CHANGE,
        ASRM_RECORDS,
    )
    + _r(
        "treatment.Administration treatment.BedsideVerification treatment.VitalSign "
        "outcomes.Assessment outcomes.ScheduledAssessment outcomes.AssessmentSchedule "
        "outcomes.BiomarkerResult outcomes.RaterCredential "
        "safety.AdverseEvent safety.AdverseEventFollowUp safety.ReportSubmission "
        "safety.PatientReport regulatory.GateRefusal",
        10,
        MADE,
        ASRM_RECORDS,
    )
    # Traceability of the cells: donor, donation, identity, lot, doses, custody (30 years, uncertain).
    + _r(
        "processing.Donor processing.DonorLink processing.Donation processing.ChainOfIdentity "
        "processing.Lot processing.Release processing.Dose processing.CustodyEvent "
        "processing.LabelPrint",
        30,
        MADE,
        ASRM_30Y,
        certain=False,
    )
    + _r(
        "processing.CultureStep processing.Deviation processing.QCResult processing.CultureAlert "
        "processing.DoseHold processing.NearMiss processing.MonitoringProgramme "
        "processing.MonitoringLimit processing.EnvironmentalResult",
        10,
        MADE,
        ASRM_MANUFACTURING,
        certain=False,
    )
    + _r("regulatory.ProvisionPlan", 10, PROGRAMME_END, ASRM_PLAN, certain=False)
    + _r(
        "regulatory.PlanVersion regulatory.PlanTransition regulatory.Obligation "
        "regulatory.PeriodicReport regulatory.MedicalInstitution regulatory.CertifiedCommittee "
        "regulatory.ProcessingFacility regulatory.Physician",
        10,
        LAST_CHANGE,
        ASRM_PLAN,
        certain=False,
    )
    + _r(
        "journey.Prescreen journey.InquiryFile journey.Inquiry",
        5,
        LAST_CHANGE,
        MEDICAL_PRACTITIONERS,
        certain=False,
    )
    + _r(
        "journey.Quote journey.QuoteLine journey.PriceList journey.PriceItem journey.TreatmentPackage",
        7,
        LAST_CHANGE,
        TAX,
        certain=False,
    )
    + _r(
        "journey.Itinerary journey.GuarantorRecord journey.VisaDocument",
        5,
        LAST_CHANGE,
        APPI,
        certain=False,
    )
    + _r(
        "regulatory.FacilityAuthorisation regulatory.FacilityChange regulatory.FormVersion "
        "regulatory.FiledDocument regulatory.Complaint regulatory.PeriodicCheck "
        "regulatory.CommitteeOpinion regulatory.CommitteeAction",
        10,
        LAST_CHANGE,
        ASRM_PLAN,
        certain=False,
    )
    + _r("regulatory.StandardDocument", 10, LAST_CHANGE, ASRM_MANUFACTURING, certain=False)
    # The facilitator network: shares and the consents behind them are records of provision to
    # a third party; the agreement carries the commission (a transaction document).
    + _r(
        "network.Share network.ReferralConsent network.Referral",
        3,
        LAST_CHANGE,
        APPI_THIRD_PARTY,
        certain=False,
    )
    + _r("network.PartnerAgreement", 7, LAST_CHANGE, TAX, certain=False)
    + _r("core.AuditEntry", 30, AT, GMP_INTEGRITY, certain=False)
    + _r("core.AccessLogEntry", 10, AT, ASRM_RECORDS, certain=False)
)

# Actions that end a record's life before the law allows, and those that only mark an error.
DISPOSAL_SUFFIXES = (".purge", ".retention_void")
VOID_SUFFIXES = (".void", *DISPOSAL_SUFFIXES)


def _configured_years() -> dict[str, int]:
    raw = getattr(settings, "SAISEI_RETENTION_YEARS", {}) or {}
    return {str(k): int(v) for k, v in raw.items()}


def rules() -> dict[str, RetentionRule]:
    """The table with the configured periods applied (a certain minimum is never shortened)."""
    configured = _configured_years()
    out: dict[str, RetentionRule] = {}
    for rule in RULES:
        years = configured.get(rule.model, rule.years)
        if years <= 0 or (rule.certain and years < rule.years):
            years = rule.years
        out[rule.model] = RetentionRule(
            rule.model, years, rule.start, rule.source, rule.certain, rule.note
        )
    return out


def rule_for(model: type[models.Model] | str) -> RetentionRule | None:
    label = model if isinstance(model, str) else model._meta.label
    return rules().get(label)


def _as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, dt.date):
        return value
    return None


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def purge_date(obj: models.Model) -> dt.date | None:
    """The first day the record may be disposed of; None while its start event has not happened
    or its class has no retention row."""
    rule = rule_for(type(obj))
    if rule is None:
        return None
    start = _as_date(getattr(obj, rule.start.field, None))
    return add_years(start, rule.years) if start is not None else None


def _subject_instance(subject: Any) -> models.Model | None:
    return subject if isinstance(subject, models.Model) else None


def retention_guard(*, action: str, subject: Any) -> None:
    """Refuse a void or disposal the retention table does not allow (fail closed)."""
    if not action.endswith(VOID_SUFFIXES):
        return
    obj = _subject_instance(subject)
    rule = rule_for(type(obj)) if obj is not None else None
    if obj is None or rule is None:
        raise Conflict(
            "retention_unknown",
            _(
                "No retention period is recorded for this kind of record, so it cannot be voided "
                "or disposed of."
            ),
        )
    if not action.endswith(DISPOSAL_SUFFIXES):
        return  # an entry made in error: withdrawn but kept, counted and archived
    until = purge_date(obj)
    if until is None or until > today_tokyo():
        raise Conflict(
            "retention_period_running",
            _(
                "This record must be kept for %(years)s years from %(start)s (%(source)s); it "
                "cannot be disposed of before %(until)s."
            )
            % {
                "years": rule.years,
                "start": _(rule.start.label),
                "source": _(rule.source),
                "until": until.isoformat() if until else _("that event has happened"),
            },
        )


@dataclass(frozen=True)
class ReportRow:
    model: str
    name: str
    rule: RetentionRule
    count: int
    voided: int
    earliest_purge: dt.date | None
    not_started: int


def retention_report(*, organisation: Any) -> list[ReportRow]:
    """Per record class: how many records the organisation holds and the earliest day one of them
    may be disposed of (one aggregate query per class)."""
    out: list[ReportRow] = []
    for label, rule in sorted(rules().items()):
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        qs = model._default_manager.filter(organisation=organisation)
        field = rule.start.field
        agg: dict[str, Any] = {"n": Count("pk"), "first": Min(field), "last": Max(field)}
        if hasattr(model, "voided_at"):
            agg["voided"] = Count("pk", filter=models.Q(voided_at__isnull=False))
        agg["open"] = Count("pk", filter=models.Q(**{f"{field}__isnull": True}))
        values = qs.aggregate(**agg)
        first = _as_date(values["first"])
        out.append(
            ReportRow(
                model=label,
                name=str(model._meta.verbose_name_plural),
                rule=rule,
                count=values["n"],
                voided=values.get("voided", 0) or 0,
                earliest_purge=add_years(first, rule.years) if first else None,
                not_started=values["open"],
            )
        )
    return out


def missing_rules() -> list[str]:
    """Record classes that can be voided (ClinicalRecord) but have no retention row."""
    from saisei.core.models import ClinicalRecord

    return sorted(
        m._meta.label
        for m in apps.get_models()
        if issubclass(m, ClinicalRecord) and m._meta.label not in rules()
    )
