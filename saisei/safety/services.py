"""Writes for safety: record and follow up adverse events, triage portal reports, log submissions.

A serious event starts the legal reporting clocks at once (regulatory deadline engine) and alerts
the physician, the compliance officer and QA; a portal report is saved before anything else runs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from saisei.core.models import Organisation, Role, User
from saisei.core.services import notify
from saisei.core.timezones import TOKYO
from saisei.safety import permissions
from saisei.safety.lifecycles import PATIENT_REPORT, TRIAGE_MOVES
from saisei.safety.models import (
    SERIOUSNESS_FIELDS,
    AdverseEvent,
    AdverseEventFollowUp,
    Outcome,
    PatientReport,
    Relatedness,
    ReportSubmission,
    Source,
)

if TYPE_CHECKING:
    from saisei.journey.models import Patient
    from saisei.processing.models import Dose, Lot
    from saisei.regulatory.models import Obligation, ProvisionPlan
    from saisei.treatment.models import Administration

logger = logging.getLogger(__name__)
SUBJECT_TYPE = "safety.adverseevent"

CRITERIA = tuple(name for name, _level in SERIOUSNESS_FIELDS)
EDITABLE_FIELDS = (
    "term",
    "vocabulary_code",
    "meddra_code",
    "description",
    "onset_date",
    "severity_grade",
    *CRITERIA,
    "related_harvest",
    "related_cells",
    "related_administration",
    "action_taken",
    "outcome",
)


def _org(actor: User) -> Organisation:
    """The actor's organisation; permission checks have already refused users without one."""
    if actor.organisation is None:
        raise Forbidden()
    return actor.organisation


def reporting_level(values: dict[str, Any]) -> str:
    """The regulatory seriousness that sets the clock: the most severe criterion that applies."""
    for name, level in SERIOUSNESS_FIELDS:
        if values.get(name):
            return level
    return "non_serious"


def aware_date_tokyo(aware_at: dt.datetime) -> dt.date:
    """Legal deadlines are dates in Japan: a Friday-night event is a Friday event in Tokyo."""
    return aware_at.astimezone(TOKYO).date()


def _plan_for(
    *,
    patient: Patient,
    administration: Administration | None,
    plan: ProvisionPlan | None,
    dose: Dose | None = None,
) -> ProvisionPlan | None:
    """The plan the event happened under, from the records: the administration, the dose's
    donation, the patient's latest course, then the patient's latest harvest."""
    if plan is not None:
        return plan
    if administration is not None:
        return administration.plan
    if dose is not None and dose.lot.donation.plan_id is not None:
        return dose.lot.donation.plan
    from saisei.journey.selectors import latest_course_of_patient
    from saisei.processing.selectors import latest_donation_plan

    course = latest_course_of_patient(patient=patient)
    if course is not None:
        return course.plan
    return latest_donation_plan(patient_id=patient.pk)


def _next_number(organisation_id: int, year: int) -> str:
    prefix = f"AE-{year}-"
    last = (
        AdverseEvent.objects.filter(organisation_id=organisation_id, number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    n = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{n:04d}"


def _validate(values: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    if not str(values.get("term") or "").strip():
        errors["term"] = [_("Name the event.")]
    grade = values.get("severity_grade")
    if grade is None or not 1 <= int(grade) <= 5:
        errors["severity_grade"] = [_("Give a grade from 1 to 5.")]
    elif int(grade) == 5 and not values.get("death"):
        errors["death"] = [_("Grade 5 means the patient died; tick 'death'.")]
    onset = values.get("onset_date")
    if onset is not None and onset > timezone.localdate(timezone=TOKYO):
        errors["onset_date"] = [_("The onset date cannot be in the future.")]
    for key in ("related_harvest", "related_cells", "related_administration"):
        if values.get(key) and values[key] not in Relatedness.values:
            errors[key] = [_("Unknown causality category.")]
    if values.get("outcome") and values["outcome"] not in Outcome.values:
        errors["outcome"] = [_("Unknown outcome.")]
    if values.get("vocabulary_code"):
        from saisei.safety.vocabulary import get_term

        try:
            get_term(values["vocabulary_code"])
        except NotFound:
            errors["vocabulary_code"] = [_("Unknown vocabulary term.")]
    if errors:
        raise ValidationFailed(
            "adverse_event.invalid", _("Some fields are missing or invalid."), errors
        )


def _responsible_people(event: AdverseEvent) -> list[User]:
    """Physician(s), compliance officers and QA of the clinic: the people who must act now."""
    from saisei.core.selectors import staff_with_role

    org = event.organisation
    people: dict[int, User] = {}
    physician_user = None
    if event.administration is not None:
        physician_user = event.administration.physician
    if physician_user is not None:
        people[physician_user.pk] = physician_user
    else:
        for user in staff_with_role(organisation=org, role=Role.PHYSICIAN):
            people[user.pk] = user
    for role in (Role.COMPLIANCE_OFFICER, Role.QA_MANAGER):
        for user in staff_with_role(organisation=org, role=role):
            people[user.pk] = user
    return list(people.values())


def _start_clocks(
    *, actor: User | None, event: AdverseEvent, known_on: dt.date | None = None
) -> list[Any]:
    """Create the reporting obligations (committee, ministry, processing facility) for the event.

    Counted from ``known_on`` (the day its current seriousness became known) or, at first
    recording, the day staff became aware. Clocks already started are never moved or dropped.
    A missing plan never drops them: the reports are still owed (ASRM Art. 17–18) on the
    strictest clock, and the people responsible are warned that no plan covers the patient.
    """
    if not event.serious and not event.suspected:
        return []  # a non-serious event not suspected of coming from the treatment is not reported
    from saisei.regulatory.services import obligations_for_adverse_event

    obligations = obligations_for_adverse_event(
        actor=actor,
        plan=event.plan,
        organisation=event.organisation,
        subject=(SUBJECT_TYPE, str(event.external_id)),
        seriousness=event.reporting_level,
        aware_date=known_on or aware_date_tokyo(event.aware_at),
    )
    if event.plan is None:
        _warn_no_plan(event)
    return obligations


def no_plan_warning(event: AdverseEvent) -> str:
    """What staff are told when no provision plan covers the patient of an event."""
    return str(
        _(
            "No provision plan covers patient %(patient)s. The reports of this event are still "
            "owed, on the strictest deadlines; find out how the patient was treated outside a "
            "plan and tell the committee."
        )
        % {"patient": event.patient.patient_code}
    )


def _warn_no_plan(event: AdverseEvent) -> None:
    from saisei.core.selectors import staff_with_role

    users = {
        u.pk: u
        for role in (Role.COMPLIANCE_OFFICER, Role.ORG_ADMIN)
        for u in staff_with_role(organisation=event.organisation, role=role)
    }
    notify(
        users=list(users.values()),
        subject=_("Adverse event %(number)s: no provision plan covers the patient")
        % {"number": event.number},
        body=no_plan_warning(event),
        link=f"/safety/events/{event.external_id}/",
        level="danger",
        dedupe_key=f"ae:{event.external_id}:no_plan",
    )


def _hold_lot(*, actor: User, event: AdverseEvent) -> list[Any]:
    """A serious event linked to a lot holds every other unused dose of that lot at once, until
    QA lifts each hold with a reason (ASRM Art. 17–18: the processing facility acts on it)."""
    if event.lot is None or not event.serious:
        return []
    from saisei.processing.services import doses_hold_for_adverse_event

    return doses_hold_for_adverse_event(
        actor=actor,
        lot=event.lot,
        reason=_("Serious adverse event %(number)s (%(term)s) after a dose of this lot")
        % {"number": event.number, "term": event.term},
        source_ref=event.number,
        source_link=f"/safety/events/{event.external_id}/",
        exclude_dose_id=event.dose_id,
    )


def _alert(event: AdverseEvent, obligations: list[Any], held: list[Any] | None = None) -> None:
    """Tell the responsible people now; with a lot, the CPC too, and which doses are on hold."""
    if not event.serious:
        return
    dues = ", ".join(f"{o.get_recipient_display()} {o.due_date:%Y-%m-%d}" for o in obligations)
    body = _("Patient %(patient)s. Reports due: %(dues)s.") % {
        "patient": event.patient.patient_code,
        "dues": dues or "—",
    }
    users = _responsible_people(event)
    if event.lot is not None:
        from saisei.core.selectors import staff_with_role
        from saisei.safety.reports import lot_impact

        others = lot_impact(event=event)
        body += " " + _(
            "Lot %(lot)s has %(count)d other doses; %(held)d unused ones were put on hold until "
            "QA assesses them."
        ) % {"lot": event.lot.number, "count": len(others), "held": len(held or [])}
        known = {u.pk for u in users}
        users += [
            u
            for u in staff_with_role(organisation=event.organisation, role=Role.CPC_TECHNICIAN)
            if u.pk not in known
        ]
    notify(
        users=users,
        subject=_("Serious adverse event %(number)s: %(term)s")
        % {"number": event.number, "term": event.term},
        body=body,
        link=f"/safety/events/{event.external_id}/",
        level="danger",
        dedupe_key=f"ae:{event.external_id}:{event.reporting_level}",
    )


def adverse_event_record(
    *,
    actor: User,
    patient: Patient,
    term: str,
    onset_date: dt.date,
    severity_grade: int,
    aware_at: dt.datetime | None = None,
    plan: ProvisionPlan | None = None,
    administration: Administration | None = None,
    dose: Dose | None = None,
    lot: Lot | None = None,
    source: str = Source.STAFF,
    **fields: Any,
) -> AdverseEvent:
    """Record an adverse event; a serious one starts its reporting clocks and alerts people now."""
    if not permissions.can_record_adverse_event(actor):
        raise Forbidden()
    for obj in (patient, plan, administration, dose, lot):
        if obj is not None and obj.organisation_id != actor.organisation_id:
            raise Forbidden()
    values = _event_values(
        {"term": term, "onset_date": onset_date, "severity_grade": severity_grade}, fields
    )
    aware_at = aware_at or timezone.now()
    if aware_at.tzinfo is None:
        raise ValidationFailed("naive_datetime", _("Times must include a time zone."))
    if administration is not None:
        dose = dose or administration.dose
    if dose is not None:
        lot = lot or dose.lot
    plan = _plan_for(patient=patient, administration=administration, plan=plan, dose=dose)
    assessing = permissions.can_assess_adverse_event(actor)
    for attempt in range(3):
        try:
            with transaction.atomic():
                # One act at a time per patient, in the order the infusion takes its locks
                # (patient, then bags, then the audit chain): an event racing an infusion of the
                # same patient waits for it instead of deadlocking on the lot's bags.
                type(patient).objects.select_for_update().filter(pk=patient.pk).first()
                event = AdverseEvent.objects.create(
                    organisation_id=actor.organisation_id,
                    number=_next_number(_org(actor).pk, aware_date_tokyo(aware_at).year),
                    patient=patient,
                    plan=plan,
                    administration=administration,
                    dose=dose,
                    lot=lot,
                    aware_at=aware_at,
                    source=source,
                    reporting_level=reporting_level(values),
                    recorded_by=actor,
                    assessed_by=actor if assessing else None,
                    **{k: v for k, v in values.items() if v is not None},
                )
                # Lock the lot's doses before anything writes the audit chain: every path that
                # moves a dose locks the dose first, then the chain head (no deadlock).
                held = _hold_lot(actor=actor, event=event)
                obligations = _start_clocks(actor=actor, event=event)
                audit_record(
                    actor=actor,
                    organisation=_org(actor),
                    action="adverse_event.record",
                    subject=event,
                    changes={
                        "number": event.number,
                        "patient": patient.patient_code,
                        "term": event.term,
                        "grade": event.severity_grade,
                        "serious": event.seriousness_criteria,
                        "obligations": [f"{o.rule_id} {o.due_date}" for o in obligations],
                        "doses_held": [str(h.dose.external_id) for h in held],
                    },
                )
                _alert(event, obligations, held)
            return event
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _event_values(required: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """The event's fields, validated: the required ones and any editable extras (no others)."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            "invalid_input", _("Unknown fields."), {k: ["unknown"] for k in unknown}
        )
    values = {**required, **fields}
    _validate(values)
    return values


# Clock strictness of each reporting level: 7-day > 15-day > 60-day batch (Reg. Art. 35).
LEVEL_RANK: dict[str, int] = {
    "death": 2,
    "life_threatening": 2,
    "hospitalisation": 1,
    "disability": 1,
    "congenital_anomaly": 1,
    "other_serious": 1,
    "non_serious": 0,
}


def _known_on(event: AdverseEvent, known_at: dt.datetime | None) -> dt.date:
    """The day (in Japan) the new seriousness became known: not in the future, not before the event."""
    now = timezone.now()
    known_at = known_at or now
    if known_at.tzinfo is None:
        raise ValidationFailed(
            "naive_datetime",
            _("Times must include a time zone."),
            {"known_at": [_("Times must include a time zone.")]},
        )
    if known_at > now:
        raise ValidationFailed(
            "adverse_event.known_in_future",
            _("The day the new information became known cannot be in the future."),
            {"known_at": [_("In the future.")]},
        )
    if known_at < event.aware_at:
        raise ValidationFailed(
            "adverse_event.known_before_aware",
            _("The new information cannot be known before the event itself was known."),
            {"known_at": [_("Before the event was known.")]},
        )
    return aware_date_tokyo(known_at)


def _require_assessor_for(*, actor: User, event: AdverseEvent, fields: dict[str, Any]) -> None:
    """Lowering the grade, clearing a seriousness criterion or changing causality is the
    physician's assessment; anyone who records events may make an event more serious."""
    if permissions.can_assess_adverse_event(actor):
        return
    loosened = [
        name
        for name in fields
        if (name in CRITERIA and getattr(event, name) and not fields[name])
        or (name == "severity_grade" and int(fields[name]) < int(event.severity_grade))
        or (
            name in ("related_harvest", "related_cells", "related_administration")
            and fields[name] != getattr(event, name)
        )
    ]
    if loosened:
        raise Forbidden(
            _(
                "Only a physician may lower the grade, remove a seriousness criterion or change "
                "the causality assessment."
            )
        )


def adverse_event_update(
    *, actor: User, event: AdverseEvent, known_at: dt.datetime | None = None, **fields: Any
) -> AdverseEvent:
    """Assess or correct an event; becoming more serious starts the stricter clocks at once.

    The new clocks count from ``known_at`` (default now): the day the upgrade became known,
    not the day the event was first recorded. The clocks already running stay as they are.
    """
    if not permissions.can_record_adverse_event(actor):
        raise Forbidden()
    if event.organisation_id != actor.organisation_id:
        raise Forbidden()
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            "invalid_input", _("Unknown fields."), {k: ["unknown"] for k in unknown}
        )
    values = {name: getattr(event, name) for name in EDITABLE_FIELDS}
    values.update(fields)
    _validate(values)
    _require_assessor_for(actor=actor, event=event, fields=fields)
    known_on = _known_on(event, known_at)
    before = {k: str(getattr(event, k)) for k in fields}
    level_before = event.reporting_level
    reportable_before = event.serious or event.suspected
    was_serious = event.serious
    with transaction.atomic():
        for key, value in fields.items():
            setattr(event, key, value)
        event.reporting_level = reporting_level(values)
        if permissions.can_assess_adverse_event(actor):
            event.assessed_by = actor
        event.save()
        upgraded = LEVEL_RANK[event.reporting_level] > LEVEL_RANK[level_before] or (
            (event.serious or event.suspected) and not reportable_before
        )
        obligations = _start_clocks(actor=actor, event=event, known_on=known_on) if upgraded else []
        # Becoming serious holds the rest of the event's lot at once.
        held = _hold_lot(actor=actor, event=event) if not was_serious else []
        audit_record(
            actor=actor,
            organisation=_org(actor),
            action="adverse_event.update",
            subject=event,
            changes={
                "before": before,
                "after": {k: str(v) for k, v in fields.items()},
                "reporting_level": [level_before, event.reporting_level],
                "known_on": known_on if upgraded else None,
                "obligations": [f"{o.rule_id} {o.due_date}" for o in obligations],
                "doses_held": [str(h.dose.external_id) for h in held],
            },
        )
        _alert(event, obligations, held)
    return event


def adverse_event_follow_up(
    *, actor: User, event: AdverseEvent, note: str, outcome: str = ""
) -> AdverseEventFollowUp:
    """Add new information to an event (what a follow-up report carries)."""
    if not permissions.can_record_adverse_event(actor):
        raise Forbidden()
    if event.organisation_id != actor.organisation_id:
        raise Forbidden()
    if not note.strip():
        raise ValidationFailed(
            "follow_up.note_required", _("Write the new information."), {"note": [_("Required.")]}
        )
    if outcome and outcome not in Outcome.values:
        raise ValidationFailed("follow_up.outcome", _("Unknown outcome."), {"outcome": [outcome]})
    with transaction.atomic():
        number = event.follow_ups.count() + 1
        follow_up = AdverseEventFollowUp.objects.create(
            organisation_id=event.organisation_id,
            event=event,
            number=number,
            note=note.strip(),
            outcome=outcome,
            recorded_by=actor,
        )
        if outcome:
            event.outcome = outcome
            event.save(update_fields=["outcome", "updated_at"])
        audit_record(
            actor=actor,
            organisation=_org(actor),
            action="adverse_event.follow_up",
            subject=event,
            changes={"number": number, "outcome": outcome},
        )
    return follow_up


def report_submission_record(
    *,
    actor: User,
    event: AdverseEvent,
    recipient: str,
    channel: str,
    sent_at: dt.datetime | None = None,
    recipient_name: str = "",
    reference: str = "",
    language: str = "ja",
    follow_up: AdverseEventFollowUp | None = None,
    obligation: Obligation | None = None,
    document: bytes | None = None,
) -> ReportSubmission:
    """Record what was sent to whom and when; an obligation it answers is closed with it."""
    from saisei.safety.reports import adverse_event_report_data

    sent_at = _check_submission(
        actor=actor,
        event=event,
        recipient=recipient,
        channel=channel,
        sent_at=sent_at,
        obligation=obligation,
    )
    with transaction.atomic():
        submission = ReportSubmission.objects.create(
            organisation_id=event.organisation_id,
            event=event,
            follow_up=follow_up,
            kind=(ReportSubmission.Kind.FOLLOW_UP if follow_up else ReportSubmission.Kind.INITIAL),
            recipient=recipient,
            recipient_name=recipient_name,
            channel=channel.strip(),
            sent_at=sent_at,
            sent_by=actor,
            language=language,
            document_sha256=hashlib.sha256(document).hexdigest() if document else "",
            data=adverse_event_report_data(event=event, follow_up=follow_up),
            obligation=obligation,
            reference=reference,
        )
        if obligation is not None and obligation.status == "open":
            from saisei.regulatory.services import obligation_mark_done

            obligation_mark_done(
                actor=actor,
                obligation=obligation,
                submitted_date=aware_date_tokyo(sent_at),
                evidence=reference or f"{channel.strip()} {sent_at:%Y-%m-%d %H:%M}",
            )
        audit_record(
            actor=actor,
            organisation=_org(actor),
            action="adverse_event.report_sent",
            subject=event,
            changes={
                "recipient": recipient,
                "channel": channel,
                "sent_at": sent_at.isoformat(),
                "kind": submission.kind,
                "sha256": submission.document_sha256,
            },
        )
    return submission


def _check_submission(
    *,
    actor: User,
    event: AdverseEvent,
    recipient: str,
    channel: str,
    sent_at: dt.datetime | None,
    obligation: Obligation | None,
) -> dt.datetime:
    """Who may record it, a known recipient, the channel, a sending time not in the future and
    an obligation of this event; returns the sending time (now when not given)."""
    if not permissions.can_record_submission(actor):
        raise Forbidden()
    if event.organisation_id != actor.organisation_id:
        raise Forbidden()
    if recipient not in ReportSubmission.Recipient.values:
        raise ValidationFailed(
            "submission.recipient", _("Unknown recipient."), {"recipient": [recipient]}
        )
    if not channel.strip():
        raise ValidationFailed(
            "submission.channel",
            _("Say how the report was sent."),
            {"channel": [_("Required.")]},
        )
    sent_at = sent_at or timezone.now()
    if sent_at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationFailed(
            "submission.future", _("The sending time cannot be in the future."), {}
        )
    if obligation is not None and (
        obligation.organisation_id != actor.organisation_id
        or obligation.subject_id != str(event.external_id)
    ):
        raise Conflict("submission.obligation", _("That obligation is not for this event."))
    return sent_at


# --- patient reports (portal) --------------------------------------------------------------


def patient_report_submit(
    *,
    patient: Patient,
    reporter: str,
    description: str,
    how_bad: str,
    started_on: dt.date | None = None,
    reporter_name: str = "",
    contact: str = "",
    language: str = "en",
) -> PatientReport:
    """Save a problem a patient or caregiver reports; saved first, so it is never lost."""
    errors: dict[str, list[str]] = {}
    if not (description or "").strip():
        errors["description"] = [_("Please tell us what happened.")]
    if reporter not in PatientReport.Reporter.values:
        errors["reporter"] = [_("Please say who is reporting.")]
    if how_bad not in PatientReport.HowBad.values:
        errors["how_bad"] = [_("Please say how bad it is.")]
    if started_on is not None and started_on > timezone.localdate(timezone=TOKYO):
        errors["started_on"] = [_("The date cannot be in the future.")]
    if errors:
        raise ValidationFailed("patient_report.invalid", _("Please check the form."), errors)
    with transaction.atomic():
        report = PatientReport.objects.create(
            organisation_id=patient.organisation_id,
            patient=patient,
            reporter=reporter,
            reporter_name=reporter_name[:200],
            contact=contact[:300],
            started_on=started_on,
            description=description.strip(),
            how_bad=how_bad,
            language=language[:10],
        )
        audit_record(
            actor=None,
            organisation=patient.organisation,
            action="patient_report.submit",
            subject=report,
            changes={"patient": patient.patient_code, "how_bad": how_bad, "reporter": reporter},
        )
    # The report is committed; alerting staff must not be able to lose it.
    try:
        _alert_triage(report)
    except Exception:
        logger.exception("Could not alert staff about patient report %s", report.pk)
    return report


def _alert_triage(report: PatientReport) -> None:
    from saisei.core.selectors import staff_with_role

    org = report.patient.organisation
    users = list(staff_with_role(organisation=org, role=Role.PHYSICIAN)) + list(
        staff_with_role(organisation=org, role=Role.NURSE)
    )
    urgent = report.how_bad in (PatientReport.HowBad.SEVERE, PatientReport.HowBad.EMERGENCY)
    with transaction.atomic():
        notify(
            users=users,
            subject=_("Patient %(patient)s reported a problem (%(how_bad)s)")
            % {"patient": report.patient.patient_code, "how_bad": report.get_how_bad_display()},
            link="/safety/triage/",
            level="danger" if urgent else "warn",
            dedupe_key=f"patient_report:{report.external_id}",
        )


def patient_report_triage(
    *,
    actor: User,
    report: PatientReport,
    decision: str,
    note: str = "",
    event_fields: dict[str, Any] | None = None,
) -> PatientReport:
    """Triage a portal report: turn it into an adverse event, or close it with a reason."""
    if not permissions.can_triage_patient_report(actor):
        raise Forbidden()
    if report.organisation_id != actor.organisation_id:
        raise Forbidden()
    if decision not in ("adverse_event", "not_adverse_event"):
        raise ValidationFailed(
            "triage.decision", _("Choose a decision."), {"decision": [str(decision)]}
        )
    if decision == "not_adverse_event" and not note.strip():
        raise ValidationFailed(
            "triage.note_required",
            _("Say why this is not an adverse event."),
            {"note": [_("Required.")]},
        )
    with transaction.atomic():
        locked = PatientReport.objects.select_for_update().get(pk=report.pk)
        move = TRIAGE_MOVES[decision]
        PATIENT_REPORT.check(locked, move, actor=actor)
        event = None
        if decision == "adverse_event":
            fields = dict(event_fields or {})
            term = fields.pop("term", "") or report.description[:200]
            onset = (
                fields.pop("onset_date", None) or report.started_on or report.submitted_at.date()
            )
            grade = fields.pop("severity_grade", None) or 1
            event = adverse_event_record(
                actor=actor,
                patient=report.patient,
                term=term,
                onset_date=onset,
                severity_grade=grade,
                aware_at=report.submitted_at,
                source=Source.PORTAL,
                description=fields.pop("description", "") or report.description,
                **fields,
            )
        return PATIENT_REPORT.apply(
            locked,
            move,
            actor=actor,
            updates={
                "triage_note": note.strip(),
                "triaged_by": actor,
                "triaged_at": timezone.now(),
                "adverse_event": event,
            },
            changes={"decision": decision, "event": event.number if event else None},
            audit_action="patient_report.triage",
        )
