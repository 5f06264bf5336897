"""Periodic reports: assemble the data for one period, record committee review and submission."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from saisei.core.audit import audit_record
from saisei.core.db_router import replica_reads
from saisei.core.errors import Forbidden, NotFound, ValidationFailed
from saisei.core.models import User
from saisei.regulatory import permissions
from saisei.regulatory.lifecycles import PERIODIC_REPORT
from saisei.regulatory.models import Obligation, PeriodicReport, ProvisionPlan, today_tokyo
from saisei.regulatory.services.obligations import obligation_mark_done


def _require(actor: User, plan: ProvisionPlan) -> None:
    if plan.organisation_id != actor.organisation_id:
        raise NotFound()
    if not permissions.can_change_plan(actor):
        raise Forbidden()


def periodic_report_assemble(
    *, actor: User, plan: ProvisionPlan, period_index: int
) -> PeriodicReport:
    """Gather the period's data into a draft report (again, if already drafted) for committee review.

    The period comes from the plan's periodic-report obligation, so report and deadline agree.
    """
    from saisei.regulatory.reports import assemble_data

    _require(actor, plan)
    obligation = Obligation.objects.filter(
        plan=plan,
        rule_id="PERIODIC-REPORT",
        subject_id=f"{plan.external_id}:{period_index}",
    ).first()
    if obligation is None or obligation.period_start is None or obligation.period_end is None:
        raise ValidationFailed(
            "periodic_report.no_period",
            _("This plan has no periodic-report period with that number yet."),
        )
    report = PeriodicReport.objects.filter(plan=plan, period_index=period_index).first()
    if report is not None:
        PERIODIC_REPORT.check(report, "assemble", actor=actor)
    # A closed period's figures: read from the replica when one is configured (core.db_router).
    with replica_reads():
        data = assemble_data(plan=plan, start=obligation.period_start, end=obligation.period_end)
    with transaction.atomic():
        values = {
            "obligation": obligation,
            "period_start": obligation.period_start,
            "period_end": obligation.period_end,
            "due_date": obligation.due_date,
            "data": data,
            "assembled_at": timezone.now(),
        }
        changes = {"plan": str(plan.external_id), "period_index": period_index}
        if report is None:
            report = PeriodicReport.objects.create(
                organisation_id=plan.organisation_id, plan=plan, period_index=period_index, **values
            )
            audit_record(
                actor=actor,
                organisation=actor.organisation,
                action="periodic_report.assemble",
                subject=report,
                changes=changes,
            )
            return report
        # New data needs a new review: reassembling drops the committee's review of the old data
        # (it stays on the audit ledger), so the report cannot be filed until it is reviewed again.
        if report.committee_review_date is not None:
            changes["review_dropped"] = str(report.committee_review_date)
        return PERIODIC_REPORT.apply(
            report,
            "assemble",
            actor=actor,
            updates={**values, "committee_review_date": None, "committee_opinion": ""},
            audit_action="periodic_report.assemble",
            changes=changes,
        )


def periodic_report_record_review(
    *, actor: User, report: PeriodicReport, review_date: dt.date, opinion: str
) -> PeriodicReport:
    """The committee reviews the report before it is filed (Facts §5: committee first)."""
    _require(actor, report.plan)
    if review_date > today_tokyo():
        raise ValidationFailed(
            "periodic_report.date_in_future",
            _("The date cannot be in the future."),
            {"review_date": [_("The date cannot be in the future.")]},
        )
    return PERIODIC_REPORT.apply(
        report,
        "record_review",
        actor=actor,
        updates={"committee_review_date": review_date, "committee_opinion": opinion.strip()},
        audit_action="periodic_report.review",
        changes={"review_date": review_date, "opinion": opinion.strip()},
    )


def periodic_report_record_submission(
    *, actor: User, report: PeriodicReport, submitted_date: dt.date, evidence: str
) -> PeriodicReport:
    """File the report with the committee's opinion attached; closes the periodic obligation."""
    _require(actor, report.plan)
    ctx = {"submitted_date": submitted_date}
    PERIODIC_REPORT.check(report, "submit", actor=actor, ctx=ctx)
    with transaction.atomic():
        if report.obligation is not None and report.obligation.status == Obligation.Status.OPEN:
            obligation_mark_done(
                actor=actor,
                obligation=report.obligation,
                submitted_date=submitted_date,
                evidence=evidence,
            )
        report.refresh_from_db()
        if report.status == PeriodicReport.Status.SUBMITTED:
            # Marking the obligation done filed the report with it; record the filing's audit.
            audit_record(
                actor=actor,
                organisation=actor.organisation,
                action="periodic_report.submit",
                subject=report,
                changes={"submitted_date": submitted_date, "evidence": evidence},
            )
            return report
        return PERIODIC_REPORT.apply(
            report,
            "submit",
            actor=actor,
            ctx=ctx,
            updates={"submitted_date": submitted_date},
            audit_action="periodic_report.submit",
            changes={"submitted_date": submitted_date, "evidence": evidence},
        )
