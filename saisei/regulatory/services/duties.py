"""The clinic's own duties: the complaints desk, periodic checks and committee opinions acted on.

Enforcement Regulation (MHLW Ordinance No. 110 of 2014) Art. 26 (complaints), Art. 20-2 (checks
by the administrator and the responsible physician), Art. 26-2 (committee opinions); see
``lifecycles`` for the citations and the rules each move enforces.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from saisei.core.models import Role, User
from saisei.core.permissions import org_id_of
from saisei.regulatory import permissions
from saisei.regulatory.lifecycles import COMMITTEE_ACTION, COMPLAINT, PERIODIC_CHECK
from saisei.regulatory.models import (
    CertifiedCommittee,
    CommitteeAction,
    CommitteeOpinion,
    Complaint,
    PeriodicCheck,
    ProvisionPlan,
    today_tokyo,
)


def _invalid(code: str, field: str, message: str) -> ValidationFailed:
    return ValidationFailed(code, message, {field: [message]})


def _same_org(actor: User, obj: object) -> None:
    if getattr(obj, "organisation_id", None) != actor.organisation_id:
        raise NotFound()


def _colleague(actor: User, user: User | None, field: str, *roles: str) -> User:
    """A staff member of the actor's organisation holding one of ``roles``."""
    if user is None or user.organisation_id != actor.organisation_id or not user.is_active:
        raise _invalid(
            "duties.person_unknown", field, _("Choose a colleague of your organisation.")
        )
    if roles and not user.has_role(*roles):
        raise _invalid(
            "duties.person_role", field, _("This colleague does not hold the role this needs.")
        )
    return user


def _not_future(day: dt.date, field: str) -> None:
    if day > today_tokyo():
        raise _invalid("duties.date_in_future", field, _("The date cannot be in the future."))


# --- complaints ----------------------------------------------------------------------------


def complaint_record(
    *,
    actor: User,
    complainant_kind: str,
    received_on: dt.date,
    channel: str,
    summary: str,
    handler: User,
    details: str = "",
    complainant_name: str = "",
) -> Complaint:
    """Log a complaint received by the desk and name who handles it."""
    if not permissions.can_handle_complaints(actor):
        raise Forbidden()
    if complainant_kind not in Complaint.Complainant.values:
        raise _invalid("complaint.complainant", "complainant_kind", _("Say who complained."))
    if channel not in Complaint.Channel.values:
        raise _invalid("complaint.channel", "channel", _("Say how the complaint came in."))
    if not summary.strip():
        raise _invalid(
            "complaint.summary_required", "summary", _("Say what the complaint is about.")
        )
    _not_future(received_on, "received_on")
    _colleague(actor, handler, "handler", *permissions.DUTY_READ_ROLES)
    year = received_on.year
    with transaction.atomic():
        count = Complaint.objects.filter(
            organisation_id=actor.organisation_id, reference__startswith=f"C-{year}-"
        ).count()
        complaint = Complaint(
            organisation_id=org_id_of(actor),
            reference=f"C-{year}-{count + 1:03d}",
            complainant_kind=complainant_kind,
            complainant_name=complainant_name.strip(),
            received_on=received_on,
            channel=channel,
            summary=summary.strip(),
            details=details.strip(),
            handler=handler,
        )
        try:
            with transaction.atomic():
                complaint.save()
        except IntegrityError as exc:
            raise Conflict(
                "complaint.reference_taken",
                _("Another complaint was logged at the same time; retry."),
            ) from exc
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action="complaint.record",
            subject=complaint,
            changes={
                "reference": complaint.reference,
                "complainant_kind": complainant_kind,
                "channel": channel,
                "received_on": received_on,
                "handler": handler.username,
            },
        )
    return complaint


def complaint_investigate(*, actor: User, complaint: Complaint) -> Complaint:
    _same_org(actor, complaint)
    if not permissions.can_handle_complaints(actor):
        raise Forbidden()
    return COMPLAINT.apply(complaint, "investigate", actor=actor)


def complaint_respond(
    *, actor: User, complaint: Complaint, response: str, responded_on: dt.date
) -> Complaint:
    """Record the response given to the complainant and when."""
    _same_org(actor, complaint)
    if not permissions.can_handle_complaints(actor):
        raise Forbidden()
    return COMPLAINT.apply(
        complaint,
        "respond",
        actor=actor,
        ctx={"response": response, "responded_on": responded_on, "today": today_tokyo()},
        updates={"response": response.strip(), "responded_on": responded_on},
        changes={"responded_on": responded_on},
    )


def complaint_close(*, actor: User, complaint: Complaint) -> Complaint:
    """Close an answered complaint; one without a response cannot be closed."""
    _same_org(actor, complaint)
    if not permissions.can_handle_complaints(actor):
        raise Forbidden()
    return COMPLAINT.apply(complaint, "close", actor=actor, updates={"closed_on": today_tokyo()})


# --- periodic checks -----------------------------------------------------------------------

CHECKER_ROLE = {
    PeriodicCheck.Checker.ADMINISTRATOR: Role.ORG_ADMIN,
    PeriodicCheck.Checker.RESPONSIBLE_PHYSICIAN: Role.PHYSICIAN,
}


def periodic_check_schedule(
    *,
    actor: User,
    checker: str,
    assignee: User,
    title: str,
    due_date: dt.date,
    interval_days: int | None = None,
    plan: ProvisionPlan | None = None,
) -> PeriodicCheck:
    """Schedule a check by the administrator (org_admin) or the responsible physician."""
    if not permissions.can_schedule_checks(actor):
        raise Forbidden()
    if checker not in PeriodicCheck.Checker.values:
        raise _invalid("periodic_check.checker", "checker", _("Say who performs the check."))
    _colleague(actor, assignee, "assignee", CHECKER_ROLE[PeriodicCheck.Checker(checker)])
    if not title.strip():
        raise _invalid("periodic_check.title_required", "title", _("Say what is checked."))
    if interval_days is not None and interval_days < 1:
        raise _invalid(
            "periodic_check.interval", "interval_days", _("A check repeats after one day or more.")
        )
    if plan is not None:
        _same_org(actor, plan)
    check = PeriodicCheck(
        organisation_id=org_id_of(actor),
        checker=checker,
        assignee=assignee,
        plan=plan,
        title=title.strip(),
        due_date=due_date,
        interval_days=interval_days,
    )
    with transaction.atomic():
        check.save()
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action="periodic_check.schedule",
            subject=check,
            changes={
                "checker": checker,
                "assignee": assignee.username,
                "due_date": due_date,
                "interval_days": interval_days,
            },
        )
    return check


def periodic_check_sign_off(
    *, actor: User, check: PeriodicCheck, performed_on: dt.date, findings: str
) -> PeriodicCheck:
    """The assignee signs the check off with its findings; a repeating check gets its next one."""
    _same_org(actor, check)
    if not permissions.can_sign_off_check(actor, check):
        raise Forbidden()
    with transaction.atomic():
        check = PERIODIC_CHECK.apply(
            check,
            "sign_off",
            actor=actor,
            ctx={
                "actor": actor,
                "findings": findings,
                "performed_on": performed_on,
                "today": today_tokyo(),
            },
            updates={
                "performed_on": performed_on,
                "findings": findings.strip(),
                "signed_off_by_id": actor.pk,
                "signed_off_at": timezone.now(),
            },
            changes={"performed_on": performed_on},
        )
        if check.interval_days:
            following = PeriodicCheck(
                organisation_id=check.organisation_id,
                checker=check.checker,
                assignee=check.assignee,
                plan=check.plan,
                title=check.title,
                due_date=check.due_date + dt.timedelta(days=check.interval_days),
                interval_days=check.interval_days,
            )
            following.save()
            audit_record(
                actor=actor,
                organisation=actor.organisation,
                action="periodic_check.schedule",
                subject=following,
                changes={"after": str(check.external_id), "due_date": following.due_date},
            )
    return check


# --- committee opinions ----------------------------------------------------------------------


def committee_opinion_record(
    *,
    actor: User,
    committee: CertifiedCommittee,
    opinion_date: dt.date,
    summary: str,
    text: str = "",
    plan: ProvisionPlan | None = None,
    actions: list[tuple[str, User, dt.date | None]] | None = None,
) -> CommitteeOpinion:
    """Record a committee's opinion with the actions it requires (description, owner, due)."""
    if not permissions.can_record_opinions(actor):
        raise Forbidden()
    _same_org(actor, committee)
    if plan is not None:
        _same_org(actor, plan)
    if not summary.strip():
        raise _invalid("committee_opinion.summary_required", "summary", _("Summarise the opinion."))
    _not_future(opinion_date, "opinion_date")
    opinion = CommitteeOpinion(
        organisation_id=org_id_of(actor),
        committee=committee,
        plan=plan,
        opinion_date=opinion_date,
        summary=summary.strip(),
        text=text.strip(),
        recorded_by=actor,
    )
    with transaction.atomic():
        opinion.save()
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action="committee_opinion.record",
            subject=opinion,
            changes={"committee": committee.name, "opinion_date": opinion_date},
        )
        for description, owner, due in actions or []:
            committee_action_add(
                actor=actor, opinion=opinion, description=description, owner=owner, due_date=due
            )
    return opinion


def committee_action_add(
    *,
    actor: User,
    opinion: CommitteeOpinion,
    description: str,
    owner: User,
    due_date: dt.date | None = None,
) -> CommitteeAction:
    if not permissions.can_record_opinions(actor):
        raise Forbidden()
    _same_org(actor, opinion)
    if not description.strip():
        raise _invalid(
            "committee_action.description_required", "description", _("Describe the action.")
        )
    _colleague(actor, owner, "owner")
    action = CommitteeAction(
        organisation_id=opinion.organisation_id,
        opinion=opinion,
        description=description.strip(),
        owner=owner,
        due_date=due_date,
    )
    with transaction.atomic():
        action.save()
        audit_record(
            actor=actor,
            organisation=actor.organisation,
            action="committee_action.add",
            subject=action,
            changes={"opinion": str(opinion.external_id), "owner": owner.username, "due": due_date},
        )
    return action


def committee_action_close(
    *, actor: User, action: CommitteeAction, evidence: str, closed_on: dt.date
) -> CommitteeAction:
    """Close a required action with the evidence that it was taken."""
    _same_org(actor, action)
    if not permissions.can_record_opinions(actor):
        raise Forbidden()
    return COMMITTEE_ACTION.apply(
        action,
        "close",
        actor=actor,
        ctx={"evidence": evidence, "closed_on": closed_on, "today": today_tokyo()},
        updates={"evidence": evidence.strip(), "closed_on": closed_on, "closed_by_id": actor.pk},
        changes={"closed_on": closed_on},
    )
