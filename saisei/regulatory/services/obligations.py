"""The deadline engine: turns rule-table deadlines into stored obligations, closes and reminds.

Obligations are keyed by (rule, subject), so generating them again never duplicates; they are
never deleted, only marked done with evidence (or voided with a reason).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from saisei.core.audit import audit_record
from saisei.core.errors import Forbidden, NotFound, ValidationFailed
from saisei.core.models import Organisation, Role, User
from saisei.regulatory import config, permissions
from saisei.regulatory.lifecycles import OBLIGATION
from saisei.regulatory.models import (
    Obligation,
    ObligationKind,
    ProcessingFacility,
    ProvisionPlan,
    today_tokyo,
)
from saisei.regulatory.rules import (
    DEADLINE_RULES,
    Due,
    Seriousness,
    change_notice_due,
    discontinuation_notice_due,
    facility_report_periods,
    periodic_report_periods,
    reporting_clock,
    sixty_day_window,
)

END_OF_PROVISION_RULE = "END-OF-PROVISION-NOTICE"

KIND_BY_RULE: dict[str, str] = {
    "AE-COMMITTEE-7D": ObligationKind.ADVERSE_EVENT,
    "AE-COMMITTEE-15D": ObligationKind.ADVERSE_EVENT,
    "AE-MINISTRY-7D": ObligationKind.ADVERSE_EVENT,
    "AE-MINISTRY-15D": ObligationKind.ADVERSE_EVENT,
    "AE-COMMITTEE-60D-BATCH": ObligationKind.AE_BATCH,
    "AE-FACILITY-PROMPT": ObligationKind.PROCESSOR_NOTICE,
    "PERIODIC-REPORT": ObligationKind.PERIODIC_REPORT,
    "FACILITY-YEARLY-REPORT": ObligationKind.FACILITY_REPORT,
    "MINOR-CHANGE-NOTICE": ObligationKind.MINOR_CHANGE,
    "MINOR-CHANGE-COMMITTEE": ObligationKind.MINOR_CHANGE,
    "DISCONTINUATION-NOTICE": ObligationKind.DISCONTINUATION,
    "DISCONTINUATION-COMMITTEE": ObligationKind.DISCONTINUATION,
    "END-OF-PROVISION-NOTICE": ObligationKind.END_OF_PROVISION,
    "FACILITY-CHANGE-NOTICE": ObligationKind.FACILITY_CHANGE,
    "FACILITY-LICENCE-RENEWAL": ObligationKind.LICENCE_RENEWAL,
}

# Not in the rule layer's table because the facts sheet gives no deadline (⚠); the number of
# days is configuration (config.end_of_provision_days).
END_OF_PROVISION_TEXT = gettext_noop(
    "File the end-of-provision notice now that follow-up has ended."
)
END_OF_PROVISION_SOURCE = "Enforcement Regulation Art. 31-2 (別紙様式第9の2); days ⚠ house target"


def rule_text(rule_id: str, stored_title: str = "") -> str:
    """The obligation's instruction in the active language (titles are stored in English).

    A rule outside the deadline table (an obligation recorded by hand) shows the title stored
    with it, given as ``stored_title``; display only, no rule depends on it.
    """
    if rule_id == END_OF_PROVISION_RULE:
        msgid = END_OF_PROVISION_TEXT
    elif rule_id in DEADLINE_RULES:
        msgid = DEADLINE_RULES[rule_id].text
    else:
        return stored_title
    return _(msgid)


def _english(rule_id: str) -> str:
    if rule_id == END_OF_PROVISION_RULE:
        return END_OF_PROVISION_TEXT
    return DEADLINE_RULES[rule_id].text


def _upsert(
    *,
    plan: ProvisionPlan | None,
    rule_id: str,
    recipient: str,
    due_date: dt.date,
    source: str,
    subject: tuple[str, str],
    trigger_date: dt.date | None,
    period: tuple[dt.date, dt.date] | None = None,
    facility: ProcessingFacility | None = None,
    follow_moves: bool = True,
    organisation: Organisation | None = None,
) -> tuple[Obligation, bool]:
    """Create the obligation for (rule, subject) once.

    With ``follow_moves`` an open one follows a moved due date (a period shortened when
    follow-up ends); without it, an existing obligation is never touched (a reporting clock,
    once started, stays where it started).
    """
    owner = plan if plan is not None else facility
    if owner is None and organisation is None:
        raise ValidationFailed(
            "obligation.organisation_required",
            _("Name the organisation the reports are owed by."),
        )
    subject_type, subject_id = subject
    organisation_id = owner.organisation_id if owner is not None else organisation.pk  # type: ignore[union-attr]
    existing = Obligation.objects.filter(
        organisation_id=organisation_id,
        rule_id=rule_id,
        subject_type=subject_type,
        subject_id=subject_id,
    ).first()
    if existing is not None:
        moved = existing.due_date != due_date or (
            period is not None and (existing.period_start, existing.period_end) != period
        )
        if follow_moves and moved and existing.status == Obligation.Status.OPEN:
            existing.due_date = due_date
            if period is not None:
                existing.period_start, existing.period_end = period
            existing.save(update_fields=["due_date", "period_start", "period_end", "updated_at"])
        return existing, False
    obligation = Obligation.objects.create(
        organisation_id=organisation_id,
        plan=plan,
        facility=facility,
        kind=KIND_BY_RULE.get(rule_id, ObligationKind.ADVERSE_EVENT),
        recipient=recipient,
        title=_english(rule_id),
        due_date=due_date,
        rule_id=rule_id,
        source=source,
        subject_type=subject_type,
        subject_id=subject_id,
        trigger_date=trigger_date,
        period_start=period[0] if period else None,
        period_end=period[1] if period else None,
    )
    return obligation, True


def _record_created(
    *,
    actor: User | None,
    plan: ProvisionPlan | ProcessingFacility | None,
    created: list[Obligation],
    cause: str,
    organisation: Organisation | None = None,
) -> None:
    if created:
        audit_record(
            actor=actor,
            organisation=organisation or plan.organisation,  # type: ignore[union-attr]
            action="obligation.create",
            subject=plan if plan is not None else created[0],
            changes={
                "cause": cause,
                "obligations": [
                    {"rule": o.rule_id, "due_date": o.due_date, "id": str(o.external_id)}
                    for o in created
                ],
            },
        )


def obligations_from_dues(
    *,
    actor: User | None,
    plan: ProvisionPlan,
    dues: Iterable[Due],
    subject: tuple[str, str],
    trigger_date: dt.date,
    cause: str,
) -> list[Obligation]:
    """Store one obligation per due (idempotent per rule and subject)."""
    out: list[Obligation] = []
    created: list[Obligation] = []
    with transaction.atomic():
        for due in dues:
            obligation, is_new = _upsert(
                plan=plan,
                rule_id=due.rule,
                recipient=due.recipient.value,
                due_date=due.due_date,
                source=due.source,
                subject=subject,
                trigger_date=trigger_date,
            )
            out.append(obligation)
            if is_new:
                created.append(obligation)
        _record_created(actor=actor, plan=plan, created=created, cause=cause)
    return out


def periodic_obligations_refresh(
    *, actor: User | None, plan: ProvisionPlan, today: dt.date | None = None
) -> list[Obligation]:
    """Make sure every yearly period that has started has its report obligation (ASRM Art. 20–21).

    Periods run from the day the plan was first submitted to the authority (提出した日; where
    the records hold an earlier acceptance date, from that, so a report is never late), once the
    plan has been accepted, and continue after discontinuation until follow-up ends; a year
    with no patient still needs its report.
    """
    day = today or today_tokyo()
    if plan.first_accepted_date is None:
        return []
    anchor = min(d for d in (plan.first_submitted_date, plan.first_accepted_date) if d)
    if anchor > day:
        return []
    cfg = config.deadline_config()
    until = plan.follow_up_end_date or (day + dt.timedelta(days=367))
    periods = periodic_report_periods(submitted_date=anchor, until=until, config=cfg)
    horizon = min(day, until)
    out: list[Obligation] = []
    created: list[Obligation] = []
    with transaction.atomic():
        for period in periods:
            if period.start > horizon:
                break
            obligation, is_new = _upsert(
                plan=plan,
                rule_id=period.rule,
                recipient=DEADLINE_RULES[period.rule].recipient.value,
                due_date=period.due_date,
                source=period.source,
                subject=("regulatory.periodic_period", f"{plan.external_id}:{period.index}"),
                trigger_date=period.end,
                period=(period.start, period.end),
            )
            out.append(obligation)
            if is_new:
                created.append(obligation)
        _record_created(actor=actor, plan=plan, created=created, cause="periodic_report")
    return out


def facility_obligations_refresh(
    *, actor: User | None, facility: ProcessingFacility, today: dt.date | None = None
) -> list[Obligation]:
    """Give an authorised processing facility its yearly manufacturing-report obligations.

    Every period that has started gets its obligation, the running one included, so a facility
    in its first year already shows the report due after its first anniversary. When the
    last record of its licence register ends, the last period stops there and its report is
    still due; none already created is ever removed. A facility with no record in its register
    cannot be scheduled: the dashboard lists it (``selectors.facility_report_rows``) instead of
    silently leaving it out.
    """
    day = today or today_tokyo()
    register = facility.register()
    if not register or facility.voided_at is not None:
        return []
    start = register[0].valid_from
    if start > day:
        return []
    # Reports run from the first record for as long as any record is (or was) in force; a
    # notification never expires, so it keeps the periods coming until it is ended.
    last_days = [a.last_day for a in register]
    horizon_end = day + dt.timedelta(days=367)
    if any(d is None for d in last_days):
        until = horizon_end
    else:
        until = min(max(d for d in last_days if d is not None), horizon_end)
    periods = facility_report_periods(
        authorised_from=start, until=until, config=config.deadline_config()
    )
    out: list[Obligation] = []
    created: list[Obligation] = []
    with transaction.atomic():
        for period in periods:
            if period.start > min(day, until):
                break
            obligation, is_new = _upsert(
                plan=None,
                facility=facility,
                rule_id=period.rule,
                recipient=DEADLINE_RULES[period.rule].recipient.value,
                due_date=period.due_date,
                source=period.source,
                subject=("regulatory.facility_period", f"{facility.external_id}:{period.index}"),
                trigger_date=period.end,
                period=(period.start, period.end),
            )
            out.append(obligation)
            if is_new:
                created.append(obligation)
        _record_created(actor=actor, plan=facility, created=created, cause="facility_report")
    return out


def minor_change_obligations(
    *, actor: User | None, plan: ProvisionPlan, change_date: dt.date, subject: tuple[str, str]
) -> list[Obligation]:
    """A minor change must be notified within 10 days and the committee told (ASRM Art. 5(3))."""
    dues = change_notice_due(change_date=change_date, config=config.deadline_config())
    return obligations_from_dues(
        actor=actor,
        plan=plan,
        dues=dues,
        subject=subject,
        trigger_date=change_date,
        cause="minor_change",
    )


def discontinuation_obligations(
    *, actor: User | None, plan: ProvisionPlan, discontinued_date: dt.date, subject: tuple[str, str]
) -> list[Obligation]:
    """Stopping provision must be notified within 10 days and the committee told (ASRM Art. 6)."""
    dues = discontinuation_notice_due(
        discontinued_date=discontinued_date, config=config.deadline_config()
    )
    return obligations_from_dues(
        actor=actor,
        plan=plan,
        dues=dues,
        subject=subject,
        trigger_date=discontinued_date,
        cause="discontinuation",
    )


def end_of_provision_obligation(
    *, actor: User | None, plan: ProvisionPlan, closed_date: dt.date, subject: tuple[str, str]
) -> Obligation:
    """When follow-up ends, the end-of-provision notice is the plan's last duty (Reg. Art. 31-2)."""
    with transaction.atomic():
        obligation, is_new = _upsert(
            plan=plan,
            rule_id=END_OF_PROVISION_RULE,
            recipient="ministry",
            due_date=closed_date + dt.timedelta(days=config.end_of_provision_days()),
            source=END_OF_PROVISION_SOURCE,
            subject=subject,
            trigger_date=closed_date,
        )
        if is_new:
            _record_created(actor=actor, plan=plan, created=[obligation], cause="end_of_provision")
    return obligation


def obligations_for_adverse_event(
    *,
    actor: User | None,
    plan: ProvisionPlan | None,
    subject: tuple[str, str],
    seriousness: str,
    aware_date: dt.date,
    organisation: Organisation | None = None,
) -> list[Obligation]:
    """Create the committee, ministry and processor reports an adverse event triggers (ASRM Art. 17–18).

    Counted from ``aware_date``: the day the event, or the seriousness that raised it, became
    known. Non-serious events share one obligation per 60-day window counted from the plan's
    first filing. A clock that already exists for the event is never moved or dropped: calling
    again (after an upgrade) only adds the clocks of rules not yet started.

    An event that no plan covers still owes its reports (``plan`` None, ``organisation`` given):
    the risk class is unknown, so the ministry reports are included, and with no filing date to
    count windows from (no plan, or a plan never filed), the 60-day batch report is due as if its
    window closed on the day staff became aware (the earliest any plan could make it due).
    """
    if plan is None and organisation is None:
        raise ValidationFailed(
            "obligation.organisation_required",
            _("Name the organisation the reports are owed by."),
        )
    org_id = plan.organisation_id if plan is not None else organisation.pk  # type: ignore[union-attr]
    if actor is not None and actor.organisation_id != org_id:
        raise NotFound()
    cfg = config.deadline_config()
    anchor = plan.first_submitted_date if plan is not None else None
    if anchor is None or anchor > aware_date:
        # No filing date to count from (no plan, or one never filed): the window that ends on
        # the aware date, whose report falls due earliest.
        anchor = aware_date - dt.timedelta(days=59 if cfg.anchor_day_is_day_one else 60)
    dues = reporting_clock(
        seriousness=seriousness,
        aware_date=aware_date,
        plan_submitted_date=anchor,
        config=cfg,
        risk_class=plan.risk_class if plan is not None else None,
    )
    out: list[Obligation] = []
    created: list[Obligation] = []
    with transaction.atomic():
        for due in dues:
            target = subject
            if due.rule == "AE-COMMITTEE-60D-BATCH":
                window = sixty_day_window(
                    plan_submitted_date=anchor, event_date=aware_date, config=cfg
                )
                if plan is not None:  # shared by the plan's events of the window
                    target = ("regulatory.ae_batch_window", f"{plan.external_id}:{window.index}")
            obligation, is_new = _upsert(
                plan=plan,
                rule_id=due.rule,
                recipient=due.recipient.value,
                due_date=due.due_date,
                source=due.source,
                subject=target,
                trigger_date=aware_date,
                period=(
                    (window.start, window.end) if due.rule == "AE-COMMITTEE-60D-BATCH" else None
                ),
                follow_moves=False,
                organisation=organisation,
            )
            out.append(obligation)
            if is_new:
                created.append(obligation)
        _record_created(
            actor=actor,
            plan=plan,
            created=created,
            cause=f"adverse_event:{Seriousness(seriousness).value}:{subject[0]}:{subject[1]}",
            organisation=organisation,
        )
    return out


def obligation_mark_done(
    *,
    actor: User,
    obligation: Obligation,
    submitted_date: dt.date,
    evidence: str,
) -> Obligation:
    """Close an obligation with the date it was filed and the evidence (receipt number, file)."""
    if obligation.organisation_id != actor.organisation_id:
        raise NotFound()
    if not permissions.can_complete_obligation(actor):
        raise Forbidden()
    OBLIGATION.check(obligation, "complete", actor=actor)
    if not evidence or not evidence.strip():
        raise ValidationFailed(
            "obligation.evidence_required",
            _("Give the evidence of submission (receipt number or document)."),
            {"evidence": [_("Give the evidence of submission (receipt number or document).")]},
        )
    if submitted_date > today_tokyo():
        raise ValidationFailed(
            "obligation.date_in_future",
            _("The submission date cannot be in the future."),
            {"submitted_date": [_("The submission date cannot be in the future.")]},
        )
    with transaction.atomic():
        obligation = OBLIGATION.apply(
            obligation,
            "complete",
            actor=actor,
            updates={
                "done_at": timezone.now(),
                "done_by": actor,
                "submitted_date": submitted_date,
                "evidence": evidence.strip(),
            },
            audit_action="obligation.complete",
            changes={
                "rule": obligation.rule_id,
                "due_date": obligation.due_date,
                "submitted_date": submitted_date,
                "late": submitted_date > obligation.due_date,
                "evidence": evidence.strip(),
            },
        )
        report = getattr(obligation, "periodic_report", None)
        if report is not None and report.submitted_date is None:
            # Filed outside the report screen: the report is filed with its obligation.
            report.submitted_date = submitted_date
            report.status = report.Status.SUBMITTED
            report.save(update_fields=["submitted_date", "status", "updated_at"])
    return obligation


def obligation_void(*, actor: User, obligation: Obligation, reason: str) -> Obligation:
    """Void an obligation created in error; it stays on record with the reason (never deleted)."""
    if obligation.organisation_id != actor.organisation_id:
        raise NotFound()
    if not permissions.can_complete_obligation(actor):
        raise Forbidden()
    with transaction.atomic():
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action="obligation.void",
            subject=obligation,
            reason=reason,
        )
        obligation.voided_at = timezone.now()
        obligation.voided_by = actor
        obligation.void_reason = reason
        obligation.save()
    return obligation


def reminder_recipients(organisation_ids: Iterable[int]) -> dict[int, list[User]]:
    users = (
        User.objects.filter(
            organisation_id__in=list(organisation_ids),
            is_active=True,
            role_grants__role__in=[Role.COMPLIANCE_OFFICER, Role.ORG_ADMIN],
        )
        .distinct()
        .order_by("pk")
    )
    out: dict[int, list[User]] = {}
    for user in users:
        if user.organisation_id is not None:
            out.setdefault(user.organisation_id, []).append(user)
    return out


def obligation_reminders_send(*, today: dt.date | None = None) -> int:
    """Remind compliance staff at each lead time before a due date, and daily once overdue.

    Each (obligation, lead time) reminder goes out once: ``notify`` deduplicates by key.
    """
    from saisei.core.services import notify

    day = today or today_tokyo()
    leads = config.reminder_days()
    horizon = day + dt.timedelta(days=max(leads) if leads else 0)
    due = list(
        Obligation.objects.open()
        .filter(due_date__lte=horizon)
        .select_related("plan", "facility")
        .order_by("due_date", "pk")
    )
    recipients = reminder_recipients({o.organisation_id for o in due})
    sent = 0
    for obligation in due:
        remaining = (obligation.due_date - day).days
        if remaining < 0:
            key = f"regulatory.obligation:{obligation.external_id}:overdue:{day.isoformat()}"
            subject = _("Overdue: {title} (was due {due})")
            level = "danger"
        else:
            lead = next((d for d in sorted(leads) if remaining <= d), None)
            if lead is None:
                continue
            key = f"regulatory.obligation:{obligation.external_id}:lead:{lead}"
            subject = _("Due {due}: {title}")
            level = "warn" if remaining <= 7 else "info"
        title = rule_text(obligation.rule_id, obligation.title)
        created = notify(
            users=recipients.get(obligation.organisation_id, []),
            subject=subject.format(title=title, due=obligation.due_date.isoformat()),
            body=f"{obligation.concerns_label}\n{obligation.source}",
            link=obligation.concerns_url or "/regulatory/obligations/",
            level=level,
            dedupe_key=key,
        )
        sent += len(created)
    return sent


def obligations_refresh_all(*, today: dt.date | None = None) -> int:
    """Daily: add the periodic-report obligations of plans and facilities whose period started."""
    count = 0
    plans = ProvisionPlan.objects.filter(
        first_accepted_date__isnull=False, closed_date__isnull=True, voided_at__isnull=True
    )
    for plan in plans:
        count += len(periodic_obligations_refresh(actor=None, plan=plan, today=today))
    facilities = (
        ProcessingFacility.objects.filter(
            voided_at__isnull=True, authorisations__voided_at__isnull=True
        )
        .distinct()
        .prefetch_related("authorisations")
    )
    for facility in facilities:
        count += len(facility_obligations_refresh(actor=None, facility=facility, today=today))
    return count
