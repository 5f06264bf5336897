"""The journey's lifecycles: inquiries, quotes, treatment courses and their steps.

Declared with the core workflow engine; the services move these records only through these
tables, so a move that does not start from the record's state is refused the same way
everywhere (409 ``invalid_transition``). The business rules that need the service's inputs
(plan in force, quote validity, consent, the compliance gate) stay in the services, which run
them before the move.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from saisei.core.workflow import Lifecycle, Transition

from .models import CourseStep, Inquiry, Quote, TreatmentCourse

_S = frozenset


def follow(
    lifecycle: Lifecycle,
    obj: Any,
    name: str,
    *,
    actor: Any,
    updates: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
) -> None:
    """Make a move that follows from another act (a quote issued moves its inquiry to quoted)
    when the record is in one of the move's source states, and leave the record alone when not."""
    transition = lifecycle.get(name)
    if transition is not None and lifecycle.state_of(obj) in transition.sources:
        lifecycle.apply(obj, name, actor=actor, updates=updates, changes=changes)


# --- inquiry ----------------------------------------------------------------------------------

#: Moves a coordinator may choose on the inquiry queue (the status form offers their targets).
INQUIRY_COORDINATOR_MOVES = (
    "review",
    "request_info",
    "prescreen",
    "quote",
    "enrol",
    "decline",
    "close",
)

INQUIRY = Lifecycle(
    name="inquiry",
    model="journey.Inquiry",
    title=_("Inquiry"),
    states=tuple(Inquiry.Status.choices),
    transitions=(
        Transition(
            "review",
            _S({"new", "info_requested", "declined", "closed"}),
            "in_review",
            _("Review"),
            effects=("The coordinator who moves it is assigned unless another is named."),
        ),
        Transition("request_info", _S({"in_review"}), "info_requested", _("Ask for information")),
        Transition("prescreen", _S({"in_review", "quoted"}), "prescreening", _("Pre-screen")),
        Transition(
            "register_patient",
            _S({"new", "in_review", "info_requested"}),
            "prescreening",
            _("Patient registered"),
            effects=("Set when the inquiry's patient is registered (enrolment service)."),
        ),
        Transition(
            "quote",
            _S({"prescreening"}),
            "quoted",
            _("Mark as quoted"),
            effects=("Set when a quote for the patient is issued."),
        ),
        Transition(
            "enrol",
            _S({"prescreening", "quoted"}),
            "enrolled",
            _("Enrol"),
            effects=("Set when the patient gives written consent."),
        ),
        Transition(
            "decline",
            _S({"new", "in_review", "prescreening", "quoted"}),
            "declined",
            _("Decline"),
        ),
        Transition(
            "close",
            _S({"new", "in_review", "info_requested", "prescreening", "quoted"}),
            "closed",
            _("Close"),
        ),
    ),
)


def inquiry_coordinator_targets(status: str) -> list[str]:
    """The statuses a coordinator may move an inquiry to from ``status``."""
    return sorted(
        t.target
        for t in INQUIRY.transitions
        if t.name in INQUIRY_COORDINATOR_MOVES and status in t.sources
    )


def inquiry_move_to(status: str, target: str) -> str:
    """The coordinator move from ``status`` to ``target``; an unknown one is named by the target
    so the engine refuses it as ``invalid_transition``."""
    for t in INQUIRY.transitions:
        if t.name in INQUIRY_COORDINATOR_MOVES and t.target == target and status in t.sources:
            return t.name
    for t in INQUIRY.transitions:
        if t.name in INQUIRY_COORDINATOR_MOVES and t.target == target:
            return t.name
    return target


# --- quote ------------------------------------------------------------------------------------

QUOTE = Lifecycle(
    name="quote",
    model="journey.Quote",
    title=_("Quote"),
    states=tuple(Quote.Status.choices),
    transitions=(
        Transition(
            "issue",
            _S({"draft"}),
            "issued",
            _("Issue the quote"),
            source="ASRM Art. 4(1), 5 (the plan must be in force)",
            effects=(
                "Freezes the disclosures; supersedes the issued earlier version; moves a "
                "pre-screening inquiry to quoted."
            ),
        ),
        Transition(
            "supersede",
            _S({"issued"}),
            "superseded",
            _("Supersede"),
            effects=("Set when a newer version of the same quote is issued."),
        ),
        Transition(
            "accept",
            _S({"issued"}),
            "accepted",
            _("Accept"),
            source="ASRM Art. 4(1), 5 (the plan must be in force)",
            effects=("Keeps the acceptance evidence (portal or staff, name, time, total)."),
        ),
    ),
)

# --- treatment course -------------------------------------------------------------------------

COURSE = Lifecycle(
    name="treatment_course",
    model="journey.TreatmentCourse",
    title=_("Treatment course"),
    states=tuple(TreatmentCourse.Status.choices),
    transitions=(
        Transition(
            "schedule",
            _S({"planned", "scheduled"}),
            "scheduled",
            _("Schedule"),
            effects=(
                "Each harvest and infusion step is checked against the compliance gate; the "
                "course is scheduled only when no step is blocked."
            ),
        ),
        Transition(
            "start",
            _S({"scheduled"}),
            "in_progress",
            _("Start"),
            effects=("Set when its first step is done."),
        ),
        Transition(
            "stop",
            _S({"planned", "scheduled", "in_progress"}),
            "stopped",
            _("Stop"),
            source="ASRM Art. 14 (consent may be withdrawn)",
            effects=("Set when consent is withdrawn; its open steps are cancelled."),
        ),
    ),
)

COURSE_STEP = Lifecycle(
    name="course_step",
    model="journey.CourseStep",
    title=_("Course step"),
    states=tuple(CourseStep.Status.choices),
    transitions=(
        Transition(
            "schedule",
            _S({"planned", "blocked"}),
            "scheduled",
            _("Schedule"),
            effects=("A harvest or infusion is scheduled only if the compliance gate allows it."),
        ),
        Transition(
            "block",
            _S({"planned", "blocked"}),
            "blocked",
            _("Block"),
            effects=("Keeps the compliance gate's reasons on the step."),
        ),
        Transition(
            "complete",
            _S({"planned", "scheduled"}),
            "done",
            _("Complete"),
            effects=("A consultation, culture or assessment step only; starts the course."),
        ),
        Transition(
            "record_act",
            _S({"planned", "scheduled", "blocked"}),
            "done",
            _("Record the act"),
            effects=(
                "A harvest or infusion step closes when its donation or administration is "
                "recorded, each after the compliance gate passed."
            ),
        ),
        Transition(
            "cancel",
            _S({"planned", "scheduled", "blocked"}),
            "cancelled",
            _("Cancel"),
            effects=("Set when consent is withdrawn and the course stops."),
        ),
    ),
)

LIFECYCLES = [INQUIRY, QUOTE, COURSE, COURSE_STEP]
