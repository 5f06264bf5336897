"""Provision-plan versions, obligations and periodic reports, declared on core's workflow engine.

The plan's guards are the pure rules of ``rules.lifecycle`` (they judge ``PlanFacts`` the service
loads, passed as ``ctx["facts"]``); a refusal keeps the rule's own stable code (``plan.…``).
``docs/lifecycles.md`` is generated from these tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import gettext_lazy as _

from saisei.core.models import Role
from saisei.core.workflow import Guard, Lifecycle, Refusal, Transition
from saisei.regulatory.models import (
    CommitteeAction,
    Complaint,
    Obligation,
    PeriodicCheck,
    PeriodicReport,
    PlanState,
)
from saisei.regulatory.rules import lifecycle as rules
from saisei.regulatory.rules.common import Refusal as RuleRefusal
from saisei.regulatory.rules.common import render

# Who records plan steps: the compliance officer or the organisation's administrator; only the
# administrator (the institution's manager) discontinues provision (ASRM Art. 5–6).
OFFICE = frozenset({Role.COMPLIANCE_OFFICER, Role.ORG_ADMIN})
ADMIN = frozenset({Role.ORG_ADMIN})


def _on_facts(rule: Callable[[rules.PlanFacts], RuleRefusal | None]) -> Guard:
    """The engine's guard for a pure plan rule: judge ``ctx["facts"]``, keep the rule's code."""

    def guard(version: Any, ctx: dict[str, Any]) -> Refusal | None:
        refusal = rule(ctx["facts"])
        if refusal is None:
            return None
        message, _ja = render(refusal.msgid, refusal.params)
        return Refusal(message, code=refusal.code, fields=refusal.fields)

    guard.__doc__ = rule.__doc__
    guard.__name__ = rule.__name__
    return guard


def _step(
    name: str,
    sources: set[str],
    target: str,
    rule: Callable[[rules.PlanFacts], RuleRefusal | None] | None = None,
    *,
    source: str = "",
    effects: str = "",
    roles: frozenset[str] = OFFICE,
) -> Transition:
    kwargs: dict[str, Any] = {"guard": _on_facts(rule)} if rule is not None else {}
    return Transition(
        name,
        frozenset(sources),
        target,
        _(rules.TRANSITION_LABELS[name]),
        roles=roles,
        source=source,
        effects=effects,
        **kwargs,
    )


S = PlanState
PLAN = Lifecycle(
    name="plan_version",
    model="regulatory.PlanVersion",
    field="state",
    title=_("Provision plan version"),
    states=tuple(PlanState.choices),
    transitions=(
        _step(
            "submit_for_review",
            {S.DRAFT},
            S.COMMITTEE_REVIEW,
            rules.documents_complete,
            source="ASRM Art. 4(2)–(3); Enforcement Regulation Form 1-2 (様式第1の2)",
        ),
        _step(
            "record_favourable_opinion",
            {S.COMMITTEE_REVIEW},
            S.OPINION_FAVOURABLE,
            rules.committee_qualified,
            source="ASRM Art. 7, 11 and 26",
        ),
        _step("record_changes_requested", {S.COMMITTEE_REVIEW}, S.CHANGES_REQUESTED),
        _step("record_unfavourable_opinion", {S.COMMITTEE_REVIEW}, S.OPINION_UNFAVOURABLE),
        _step("revise", {S.CHANGES_REQUESTED, S.OPINION_UNFAVOURABLE}, S.DRAFT),
        _step(
            "submit_to_authority",
            {S.OPINION_FAVOURABLE},
            S.SUBMITTED,
            rules.ready_to_file,
            source="ASRM Art. 4; Enforcement Regulation Art. 2–3",
        ),
        _step(
            "record_acceptance",
            {S.SUBMITTED},
            S.ACCEPTED,
            rules.plan_number_assigned,
            source="ASRM Art. 4 (filing through e-再生医療)",
            effects="Periodic-report obligations start; Class II and III come into force.",
        ),
        _step(
            "bring_into_force",
            {S.ACCEPTED},
            S.IN_FORCE,
            rules.waiting_period_over,
            source="ASRM Art. 8–10",
            effects="The previous version in force is superseded.",
        ),
        _step(
            "record_change_order",
            {S.SUBMITTED, S.ACCEPTED, S.IN_FORCE},
            S.CHANGE_ORDERED,
        ),
        _step(
            "revise_after_change_order",
            {S.CHANGE_ORDERED},
            S.COMMITTEE_REVIEW,
            rules.documents_complete,
            source="ASRM Art. 4(2)–(3); Enforcement Regulation Form 1-2 (様式第1の2)",
        ),
        _step("suspend", {S.IN_FORCE}, S.SUSPENDED),
        _step(
            "resume",
            {S.SUSPENDED},
            S.IN_FORCE,
            rules.suspension_lifted,
            source="ASRM Art. 12–25",
        ),
        _step(
            "record_minor_change",
            {S.IN_FORCE},
            S.IN_FORCE,
            rules.only_administrative_changes,
            source="ASRM Art. 5(1)–(3)",
            effects="A 10-day notice obligation to the authority.",
        ),
        _step(
            "start_major_change",
            {S.IN_FORCE},
            S.IN_FORCE,
            effects="A new draft version; this version stays in force until it is in force.",
        ),
        _step(
            "supersede",
            {S.IN_FORCE},
            S.SUPERSEDED,
            rules.successor_in_force,
            source="ASRM Art. 5 and 10",
        ),
        _step(
            "discontinue",
            {S.ACCEPTED, S.IN_FORCE, S.SUSPENDED, S.CHANGE_ORDERED},
            S.DISCONTINUED,
            roles=ADMIN,
            effects="Discontinuation notice obligations (10 days).",
        ),
        _step(
            "withdraw",
            {
                S.DRAFT,
                S.COMMITTEE_REVIEW,
                S.CHANGES_REQUESTED,
                S.OPINION_UNFAVOURABLE,
                S.OPINION_FAVOURABLE,
            },
            S.CLOSED,
        ),
        _step(
            "close",
            {S.DISCONTINUED},
            S.CLOSED,
            rules.follow_up_finished,
            source="ASRM Art. 6; Enforcement Regulation Art. 31-2",
            effects="End-of-provision report obligation (Form 9-2, 別紙様式第9の2).",
        ),
    ),
)


OBLIGATION = Lifecycle(
    name="obligation",
    model="regulatory.Obligation",
    title=_("Reporting obligation"),
    states=tuple(Obligation.Status.choices),
    transitions=(
        Transition(
            "complete",
            frozenset({Obligation.Status.OPEN}),
            Obligation.Status.DONE,
            _("Mark done"),
            effects="Records the submission date and evidence; closes its periodic report.",
        ),
    ),
)


def _reviewed_before_filing(report: Any, ctx: dict[str, Any]) -> Any:
    """A periodic report is filed with the committee's opinion on the data as filed, so it is
    filed on or after the committee reviewed it."""
    review = report.committee_review_date
    if review is None:
        return Refusal(
            _("The committee must review the report before it is filed."),
            code="periodic_report.not_reviewed",
        )
    if ctx["submitted_date"] < review:
        return Refusal(
            _("The report cannot be filed before the committee reviewed it."),
            code="periodic_report.before_review",
            fields=("submitted_date",),
        )
    return None


SRC_PERIODIC = (
    "ASRM Art. 20–21; Form 3 (別紙様式第3): the committee reviews the periodic report, which is "
    "then filed with the committee's opinion"
)

PERIODIC_REPORT = Lifecycle(
    name="periodic_report",
    model="regulatory.PeriodicReport",
    title=_("Periodic report"),
    states=tuple(PeriodicReport.Status.choices),
    transitions=(
        Transition(
            "assemble",
            frozenset({PeriodicReport.Status.DRAFT, PeriodicReport.Status.COMMITTEE_REVIEWED}),
            PeriodicReport.Status.DRAFT,
            _("Assemble the data"),
            source=SRC_PERIODIC,
            effects="Reassembling a reviewed report drops the review: the committee reviews again.",
        ),
        Transition(
            "record_review",
            frozenset({PeriodicReport.Status.DRAFT, PeriodicReport.Status.COMMITTEE_REVIEWED}),
            PeriodicReport.Status.COMMITTEE_REVIEWED,
            _("Record the committee's review"),
            source=SRC_PERIODIC,
        ),
        Transition(
            "submit",
            frozenset({PeriodicReport.Status.COMMITTEE_REVIEWED}),
            PeriodicReport.Status.SUBMITTED,
            _("Record the filing"),
            guard=_reviewed_before_filing,
            source=SRC_PERIODIC,
            effects="Marks the period's obligation done.",
        ),
    ),
)

# --- the clinic's own duties (issue 16 item 7) ---------------------------------------------

SRC_COMPLAINTS = (
    "Enforcement Regulation (MHLW Ordinance No. 110 of 2014) Art. 26: a complaints and "
    "enquiries desk with a written procedure ⚠ article number from a summary, not read on e-Gov"
)
SRC_CHECKS = (
    "Enforcement Regulation (MHLW Ordinance No. 110 of 2014) Art. 20-2: the administrator and "
    "the responsible physician check how regenerative medicine is provided ⚠ article number "
    "from a summary, not read on e-Gov"
)
SRC_OPINIONS = (
    "Enforcement Regulation (MHLW Ordinance No. 110 of 2014) Art. 26-2: the institution acts on "
    "the certified committee's opinions ⚠ article number from a summary, not read on e-Gov"
)


def _response_given(complaint: Any, ctx: dict[str, Any]) -> Refusal | None:
    """A complaint is answered with a written response given on or after the day it was received,
    never in the future."""
    response = (ctx.get("response") or "").strip()
    day = ctx.get("responded_on")
    if not response or day is None:
        return Refusal(
            _("Write the response and the day it was given."),
            code="complaint.response_required",
            fields=("response",),
        )
    if day < complaint.received_on or day > ctx["today"]:
        return Refusal(
            _("The response date must be between the day the complaint came in and today."),
            code="complaint.response_date",
            fields=("responded_on",),
        )
    return None


def _answered_before_closing(complaint: Any, ctx: dict[str, Any]) -> Refusal | None:
    """A complaint is closed only once a response was recorded."""
    if not complaint.response.strip() or complaint.responded_on is None:
        return Refusal(
            _("A complaint cannot be closed without a recorded response."),
            code="complaint.no_response",
        )
    return None


COMPLAINT = Lifecycle(
    name="complaint",
    model="regulatory.Complaint",
    title=_("Complaint"),
    states=tuple(Complaint.Status.choices),
    transitions=(
        Transition(
            "investigate",
            frozenset({Complaint.Status.RECEIVED}),
            Complaint.Status.INVESTIGATING,
            _("Start the investigation"),
            roles=OFFICE,
            source=SRC_COMPLAINTS,
        ),
        Transition(
            "respond",
            frozenset({Complaint.Status.RECEIVED, Complaint.Status.INVESTIGATING}),
            Complaint.Status.ANSWERED,
            _("Record the response"),
            roles=OFFICE,
            guard=_response_given,
            source=SRC_COMPLAINTS,
            effects="Records the response and the day it was given.",
        ),
        Transition(
            "close",
            frozenset({Complaint.Status.ANSWERED}),
            Complaint.Status.CLOSED,
            _("Close the complaint"),
            roles=OFFICE,
            guard=_answered_before_closing,
            source=SRC_COMPLAINTS,
        ),
    ),
)


def _findings_given(check: Any, ctx: dict[str, Any]) -> Refusal | None:
    """A check is signed off by the person it is assigned to, with its findings and the day it
    was performed (not in the future)."""
    if ctx["actor"].pk != check.assignee_id:
        return Refusal(
            _("Only the person the check is assigned to may sign it off."),
            code="periodic_check.not_assignee",
        )
    if not (ctx.get("findings") or "").strip():
        return Refusal(
            _("Write the findings of the check."),
            code="periodic_check.findings_required",
            fields=("findings",),
        )
    if ctx["performed_on"] > ctx["today"]:
        return Refusal(
            _("The check cannot be performed in the future."),
            code="periodic_check.date_in_future",
            fields=("performed_on",),
        )
    return None


PERIODIC_CHECK = Lifecycle(
    name="periodic_check",
    model="regulatory.PeriodicCheck",
    title=_("Periodic check"),
    states=tuple(PeriodicCheck.Status.choices),
    transitions=(
        Transition(
            "sign_off",
            frozenset({PeriodicCheck.Status.DUE}),
            PeriodicCheck.Status.SIGNED_OFF,
            _("Sign off the check"),
            roles=frozenset({Role.ORG_ADMIN, Role.PHYSICIAN}),
            guard=_findings_given,
            source=SRC_CHECKS,
            effects="Records the findings; a repeating check schedules the next one.",
        ),
    ),
)


def _evidence_given(action: Any, ctx: dict[str, Any]) -> Refusal | None:
    """A required action is closed only with evidence of what was done and a closing date that is
    not before the opinion nor in the future."""
    if not (ctx.get("evidence") or "").strip():
        return Refusal(
            _("Give the evidence that the action was taken."),
            code="committee_action.evidence_required",
            fields=("evidence",),
        )
    day = ctx["closed_on"]
    if day < action.opinion.opinion_date or day > ctx["today"]:
        return Refusal(
            _("The closing date must be between the opinion's date and today."),
            code="committee_action.closing_date",
            fields=("closed_on",),
        )
    return None


COMMITTEE_ACTION = Lifecycle(
    name="committee_action",
    model="regulatory.CommitteeAction",
    title=_("Action required by a committee opinion"),
    states=tuple(CommitteeAction.Status.choices),
    transitions=(
        Transition(
            "close",
            frozenset({CommitteeAction.Status.OPEN}),
            CommitteeAction.Status.CLOSED,
            _("Close the action with evidence"),
            roles=OFFICE,
            guard=_evidence_given,
            source=SRC_OPINIONS,
        ),
    ),
)

LIFECYCLES = [PLAN, OBLIGATION, PERIODIC_REPORT, COMPLAINT, PERIODIC_CHECK, COMMITTEE_ACTION]
