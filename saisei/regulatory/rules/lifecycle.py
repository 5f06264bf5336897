"""The rules a provision-plan version's steps obey: states, facts, one pure guard per rule.

The transition table itself is ``saisei.regulatory.lifecycles.PLAN`` on core's workflow engine;
the guards here judge ``PlanFacts`` only, so they are tested without a database.

A non-minor change is a new plan version that runs this lifecycle from ``draft`` while the
previous version stays ``in_force``; when the new version comes into force (after a new 90-day
wait for Class I) the old one is ``superseded``. A minor change is a self-transition that
creates a 10-day notice obligation and may touch only the administrative fields of
``changes.MINOR_CHANGE_FIELDS``. Every step is dated, and the dates of one version run in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from django.utils.translation import gettext, gettext_noop

from .changes import MINOR_CHANGE_FIELDS, non_minor_fields
from .classification import check_declared_class
from .common import DomainError, Refusal
from .deadlines import DeadlineConfig, class1_first_provision_day

__all__ = [
    "TRANSITION_LABELS",
    "PlanFacts",
    "PlanState",
    "step_date_refusal",
]


class PlanState(StrEnum):
    DRAFT = "draft"
    COMMITTEE_REVIEW = "committee_review"
    OPINION_FAVOURABLE = "opinion_favourable"
    CHANGES_REQUESTED = "changes_requested"
    OPINION_UNFAVOURABLE = "opinion_unfavourable"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    IN_FORCE = "in_force"
    SUSPENDED = "suspended"
    CHANGE_ORDERED = "change_ordered"
    SUPERSEDED = "superseded"
    DISCONTINUED = "discontinued"
    CLOSED = "closed"


@dataclass(frozen=True)
class PlanFacts:
    """What the guards need to know about the plan version, loaded by the Django service."""

    today: date
    risk_class: int | None = None  # declared class of the plan
    computed_risk_class: int | None = None  # from classify()
    committee_kind: str | None = None  # "specially_certified" | "certified"
    documents_complete: bool = False
    submitted_date: date | None = None
    plan_number: str = ""
    suspension_lifted: bool = False
    successor_in_force: bool = False
    follow_up_finished: bool = False
    open_obligations: int = 0
    deadline_config: DeadlineConfig = field(default_factory=DeadlineConfig)
    changed_fields: frozenset[str] = frozenset()  # what a minor change sets


Guard = Callable[[PlanFacts], Refusal | None]


def documents_complete(facts: PlanFacts) -> Refusal | None:
    """The committee reviews the plan with its attachments (ASRM Art. 4(2)–(3); 様式第1の2)."""
    if facts.documents_complete:
        return None
    return Refusal(
        "plan.documents_incomplete",
        gettext_noop("The plan's documents are not complete, so it cannot go to the committee."),
    )


def committee_qualified(facts: PlanFacts) -> Refusal | None:
    """Class I and II plans need a Specially Certified Committee; Class III any certified one (ASRM Art. 7, 11, 26)."""
    if facts.risk_class is None:
        return Refusal("plan.class_missing", gettext_noop("The plan has no risk class yet."))
    needed = (
        {"specially_certified"}
        if facts.risk_class in (1, 2)
        else {"specially_certified", "certified"}
    )
    if facts.committee_kind in needed:
        return None
    return Refusal(
        "plan.committee_not_qualified",
        gettext_noop(
            "A Class {risk_class} plan must be reviewed by a Specially Certified Committee."
        ),
        {"risk_class": facts.risk_class},
    )


def ready_to_file(facts: PlanFacts) -> Refusal | None:
    """Filing needs a qualified committee and a declared class no lower than the computed one (ASRM Art. 4; Reg. Art. 2–3)."""
    refusal = committee_qualified(facts)
    if refusal is not None:
        return refusal
    if facts.computed_risk_class is None:
        return Refusal(
            "plan.classification_missing",
            gettext_noop("The plan's risk class has not been computed from the cell facts."),
        )
    assert facts.risk_class is not None  # committee_qualified checked it
    try:
        check_declared_class(declared=facts.risk_class, computed=facts.computed_risk_class)
    except DomainError:
        return Refusal(
            "plan.declared_class_too_low",
            gettext_noop(
                "The plan declares Class {declared}, but the rules give Class {computed}. "
                "A plan cannot be submitted with a lower class than the computed one."
            ),
            {"declared": facts.risk_class, "computed": facts.computed_risk_class},
        )
    return None


def plan_number_assigned(facts: PlanFacts) -> Refusal | None:
    """Acceptance is recorded with the plan number (計画番号) the authority assigns (e-再生医療)."""
    if facts.plan_number.strip() and facts.submitted_date is not None:
        return None
    return Refusal(
        "plan.plan_number_missing",
        gettext_noop(
            "Record the submission date and the plan number given by the authority first."
        ),
    )


def waiting_period_over(facts: PlanFacts) -> Refusal | None:
    """A Class I plan or non-minor change takes effect only after 90 days from filing (ASRM Art. 8–10)."""
    if facts.risk_class != 1:
        return None
    if facts.submitted_date is None:
        return Refusal(
            "plan.plan_number_missing",
            gettext_noop(
                "Record the submission date and the plan number given by the authority first."
            ),
        )
    first = class1_first_provision_day(
        submitted_date=facts.submitted_date, config=facts.deadline_config
    )
    if facts.today >= first:
        return None
    return Refusal(
        "plan.class1_waiting_period",
        gettext_noop(
            "This Class I plan cannot come into force before {first_day} (90-day waiting period)."
        ),
        {"first_day": first.isoformat()},
    )


def only_administrative_changes(facts: PlanFacts) -> Refusal | None:
    """A minor change may touch only the administrative fields listed as minor; anything else
    needs committee review and a change filing first (ASRM Art. 5(1)–(3); see rules.changes)."""
    refused = non_minor_fields(facts.changed_fields)
    if not refused:
        return None
    return Refusal(
        "plan.change_not_minor",
        gettext_noop(
            "Only administrative details ({allowed}) can change by a minor change. "
            "{fields} need committee review and a change filing first: start a non-minor change."
        ),
        {
            "allowed": ", ".join(sorted(MINOR_CHANGE_FIELDS)),
            "fields": ", ".join(refused),
        },
        fields=tuple(refused),
    )


def suspension_lifted(facts: PlanFacts) -> Refusal | None:
    """Provision resumes only once the order or voluntary suspension is lifted (ASRM Art. 12–25)."""
    if facts.suspension_lifted:
        return None
    return Refusal(
        "plan.suspension_not_lifted",
        gettext_noop("The suspension has not been lifted."),
    )


def successor_in_force(facts: PlanFacts) -> Refusal | None:
    """The previous version stays in force until the changed version is in force (ASRM Art. 5, 10)."""
    if facts.successor_in_force:
        return None
    return Refusal(
        "plan.successor_not_in_force",
        gettext_noop(
            "The new version of the plan is not in force yet, so this version stays in force."
        ),
    )


def follow_up_finished(facts: PlanFacts) -> Refusal | None:
    """Reports continue until follow-up ends; only then may the plan close (ASRM Art. 6; Reg. Art. 31-2)."""
    if not facts.follow_up_finished:
        return Refusal(
            "plan.follow_up_not_finished",
            gettext_noop("Follow-up of treated patients has not finished."),
        )
    if facts.open_obligations:
        return Refusal(
            "plan.obligations_open",
            gettext_noop("{count} reporting obligation(s) are still open."),
            {"count": facts.open_obligations},
        )
    return None


# What each step is called on screens and in refusals (msgids; translated where shown).
TRANSITION_LABELS: dict[str, str] = {
    "submit_for_review": gettext_noop("Send to the committee for review"),
    "record_favourable_opinion": gettext_noop("Record favourable committee opinion"),
    "record_changes_requested": gettext_noop("Record committee request for changes"),
    "record_unfavourable_opinion": gettext_noop("Record unfavourable committee opinion"),
    "revise": gettext_noop("Revise the plan (back to draft)"),
    "submit_to_authority": gettext_noop("Record filing with the authority"),
    "record_acceptance": gettext_noop("Record acceptance and plan number"),
    "bring_into_force": gettext_noop("Bring into force"),
    "record_change_order": gettext_noop("Record an order to change the plan"),
    "revise_after_change_order": gettext_noop("Send the revised plan to the committee"),
    "suspend": gettext_noop("Suspend provision"),
    "resume": gettext_noop("Resume provision"),
    "record_minor_change": gettext_noop("Record a minor change"),
    "start_major_change": gettext_noop("Start a non-minor change (new version)"),
    "supersede": gettext_noop("Mark superseded"),
    "discontinue": gettext_noop("Discontinue provision"),
    "withdraw": gettext_noop("Withdraw the plan"),
    "close": gettext_noop("Close the plan (follow-up finished)"),
}


def step_date_refusal(
    *, effective: date, today: date, previous: tuple[str, date] | None
) -> Refusal | None:
    """A step is recorded once it has happened and never before the step it follows: committee
    opinion ≤ submission ≤ acceptance ≤ in force, and so on (ASRM Art. 4–5, 8; a plan is filed
    after the committee's opinion and used only once accepted)."""
    if effective > today:
        return Refusal(
            "plan.effective_date_in_future",
            gettext_noop(
                "A step can only be recorded once it has happened (the date is in the future)."
            ),
            fields=("effective_date",),
        )
    if previous is not None and effective < previous[1]:
        name, day = previous
        return Refusal(
            "plan.step_date_out_of_order",
            gettext_noop(
                "Steps must follow each other in time: this date is before the previous step "
                "({step}, {date})."
            ),
            {"step": gettext(TRANSITION_LABELS.get(name, name)), "date": day.isoformat()},
            fields=("effective_date",),
        )
    return None
