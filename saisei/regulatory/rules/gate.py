"""Compliance gate: may this harvest, release or administration happen under the plan, today?

Design invariant 1: no treatment act happens unless every blocking rule passes. The Django
selector loads a ``GateFacts`` snapshot in a constant number of queries; ``evaluate_gate`` is
pure, runs every rule in ``GATE_RULES`` and explains each failure with a stable id and source.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from django.utils.translation import gettext, gettext_noop

from saisei.core.timezones import TOKYO

from .common import DomainError, render
from .deadlines import class1_first_provision_day
from .gate_facts import (
    Act,
    AuthorisationPeriod,
    ConsentFacts,
    FacilityFacts,
    FactConflict,
    Finding,
    GateConfig,
    GateFacts,
    GateRequest,
    GateResult,
    OverdueObligation,
    Severity,
)
from .lifecycle import PlanState

__all__ = [
    "GATE_RULES",
    "Act",
    "AuthorisationPeriod",
    "ConsentFacts",
    "FacilityFacts",
    "FactConflict",
    "Finding",
    "GateConfig",
    "GateFacts",
    "GateRequest",
    "GateResult",
    "GateRule",
    "OverdueObligation",
    "evaluate_gate",
]


SRC_PLAN = "ASRM Art. 4(1), Art. 13; penalties Art. 60 (Class I), Art. 62 (Class II/III)"
SRC_INSTITUTION = "ASRM Art. 4(1) (a plan is filed by, and covers, one medical institution)"
SRC_CLASS1_WAIT = "ASRM Art. 8–10 (Class I provision restriction period)"
SRC_ORDERS = "ASRM Art. 12–25 (Minister's orders: emergency, improvement, change)"
SRC_CONTENT = "ASRM Art. 13 (the act must be the one described in the submitted plan; 様式第1の2)"
SRC_PHYSICIAN = "ASRM Art. 4(1) (performing physicians listed in the plan); Art. 13"
SRC_CPC_LISTED = "ASRM Art. 4(1) (processing facility named in the plan); Art. 13"
SRC_CPC_AUTH = (
    "ASRM Art. 12 and Ch. IV: licence (Art. 35), renewal (Art. 36), accreditation (Art. 39), "
    "notification (Art. 40)"
)
SRC_CONSENT = "ASRM Art. 14 (explanation and written consent); Enforcement Regulation"
SRC_PERIODIC = "ASRM Art. 20–21 (periodic reports)"
SRC_AE = "ASRM Art. 17–18 (adverse-event reports)"

# Acts done by a physician on the patient: who does it and for which disease are checked there.
# A QA release certifies the product and the plan it is made under, so it skips those two rules
# (they were checked at harvest and are checked again at the bedside).
CLINICAL_ACTS = frozenset({Act.HARVEST, Act.ADMINISTRATION})
# Acts on the product: its route and dose per bag must be ones the plan describes (the lot is
# specified and tested for a route, e.g. the endotoxin limit; ASRM Art. 13).
PRODUCT_ACTS = frozenset({Act.RELEASE, Act.ADMINISTRATION})

ACCEPTED_STATES = frozenset(
    {
        PlanState.ACCEPTED,
        PlanState.IN_FORCE,
        PlanState.SUSPENDED,
        PlanState.CHANGE_ORDERED,
        PlanState.SUPERSEDED,
        PlanState.DISCONTINUED,
        PlanState.CLOSED,
    }
)
AUTHORISED = frozenset({"licensed", "notified", "accredited"})


@dataclass(frozen=True)
class Context:
    request: GateRequest
    facts: GateFacts
    act_date: date
    state: PlanState
    config: GateConfig


@dataclass(frozen=True)
class Violation:
    """What a rule function returns when it fails; ``msgid`` overrides the rule's default message."""

    params: Mapping[str, Any] = field(default_factory=dict)
    msgid: str | None = None


Check = Callable[[Context], Violation | None]


@dataclass(frozen=True)
class GateRule:
    id: str
    severity: Severity
    msgid: str
    source: str
    check: Check
    acts: frozenset[Act] = frozenset(Act)


GATE_RULES: list[GateRule] = []


def rule(
    rule_id: str,
    *,
    severity: Severity,
    msgid: str,
    source: str,
    acts: frozenset[Act] = frozenset(Act),
) -> Callable[[Check], Check]:
    """Register a rule function in ``GATE_RULES``, in declaration order."""

    def register(check: Check) -> Check:
        GATE_RULES.append(GateRule(rule_id, severity, msgid, source, check, acts))
        return check

    return register


def _cells(n: int | None) -> str:
    return "—" if n is None else f"{n:,}"


@rule(
    "GATE-PLAN-MISSING",
    severity="block",
    msgid=gettext_noop(
        "No provision plan was found for this act. Treatment without a plan is an offence."
    ),
    source=SRC_PLAN,
)
def plan_missing(ctx: Context) -> Violation | None:
    """The request must name a plan version the institution actually holds."""
    if (
        ctx.facts.plan_version_id is None
        or ctx.facts.plan_version_id != ctx.request.plan_version_id
    ):
        return Violation()
    return None


@rule(
    "GATE-INSTITUTION-NOT-COVERED",
    severity="block",
    msgid=gettext_noop("This plan does not cover the institution where the act would take place."),
    source=SRC_INSTITUTION,
)
def institution_not_covered(ctx: Context) -> Violation | None:
    """A plan belongs to the institution that filed it; another site may not use it."""
    if ctx.facts.institution_id != ctx.request.institution_id:
        return Violation()
    return None


@rule(
    "GATE-PLAN-NOT-ACCEPTED",
    severity="block",
    msgid=gettext_noop("The provision plan has not been accepted yet (current status: {state})."),
    source=SRC_PLAN,
)
def plan_not_accepted(ctx: Context) -> Violation | None:
    """Provision may start only once the plan has been filed and given a plan number."""
    if ctx.state not in ACCEPTED_STATES or (
        ctx.facts.accepted_date is not None and ctx.facts.accepted_date > ctx.act_date
    ):
        return Violation({"state": ctx.state.value})
    return None


@rule(
    "GATE-PLAN-NOT-IN-FORCE",
    severity="block",
    msgid=gettext_noop("The provision plan is not in force on {date}."),
    source=SRC_PLAN,
)
def plan_not_in_force(ctx: Context) -> Violation | None:
    """The plan version must be the one in force on the act's date (Tokyo time)."""
    f, day = ctx.facts, ctx.act_date
    if ctx.state not in ACCEPTED_STATES:
        return None  # GATE-PLAN-NOT-ACCEPTED already explains it
    if ctx.state in {PlanState.SUSPENDED, PlanState.CHANGE_ORDERED}:
        return None  # their own rules explain it
    if ctx.state is PlanState.ACCEPTED and _in_class1_wait(ctx):
        return None  # GATE-CLASS1-WAITING-PERIOD explains it
    in_force = (
        ctx.state is PlanState.IN_FORCE
        and f.in_force_from is not None
        and f.in_force_from <= day
        and (f.in_force_until is None or day <= f.in_force_until)
    )
    return None if in_force else Violation({"date": day.isoformat()})


def _in_class1_wait(ctx: Context) -> bool:
    # An unknown class gets the strictest treatment rather than slipping past the wait.
    if ctx.facts.risk_class in (2, 3):
        return False
    if ctx.facts.submitted_date is None:
        return True
    first = class1_first_provision_day(
        submitted_date=ctx.facts.submitted_date, config=ctx.config.deadlines
    )
    return ctx.act_date < first


@rule(
    "GATE-CLASS1-WAITING-PERIOD",
    severity="block",
    msgid=gettext_noop(
        "This is a Class I plan and its {days}-day waiting period is not over. "
        "The first allowed day is {first_day}."
    ),
    source=SRC_CLASS1_WAIT,
)
def class1_waiting_period(ctx: Context) -> Violation | None:
    """A Class I plan, or its non-minor change, may not be used until 90 days from filing have passed."""
    if not _in_class1_wait(ctx):
        return None
    submitted = ctx.facts.submitted_date
    first = (
        class1_first_provision_day(
            submitted_date=submitted, config=ctx.config.deadlines
        ).isoformat()
        if submitted
        else "—"
    )
    return Violation({"days": ctx.config.deadlines.class1_waiting_days, "first_day": first})


@rule(
    "GATE-PLAN-SUSPENDED",
    severity="block",
    msgid=gettext_noop("Provision under this plan is suspended."),
    source=SRC_ORDERS,
)
def plan_suspended(ctx: Context) -> Violation | None:
    """A suspended plan (voluntary, or by emergency order) may not be used until the suspension is lifted."""
    return Violation() if ctx.state is PlanState.SUSPENDED else None


@rule(
    "GATE-PLAN-CHANGE-ORDERED",
    severity="block",
    msgid=gettext_noop(
        "The authority has ordered this plan to be changed; it cannot be used until the change is made."
    ),
    source=SRC_ORDERS,
)
def plan_change_ordered(ctx: Context) -> Violation | None:
    """A plan under a change order is held until the revised plan passes review."""
    return Violation() if ctx.state is PlanState.CHANGE_ORDERED else None


@rule(
    "GATE-PHYSICIAN-UNKNOWN",
    severity="block",
    msgid=gettext_noop(
        "No performing physician is named for this act, so it cannot be checked against the plan."
    ),
    source=SRC_PHYSICIAN,
    acts=CLINICAL_ACTS,
)
def physician_unknown(ctx: Context) -> Violation | None:
    """The act must name the physician who performs it; the person recording it is not assumed."""
    return Violation() if ctx.request.physician_id is None else None


@rule(
    "GATE-PHYSICIAN-NOT-LISTED",
    severity="block",
    msgid=gettext_noop("This physician is not listed in the plan."),
    source=SRC_PHYSICIAN,
    acts=CLINICAL_ACTS,
)
def physician_not_listed(ctx: Context) -> Violation | None:
    """Only physicians named in the plan version in force may perform its acts."""
    physician = ctx.request.physician_id
    if physician is None or physician in ctx.facts.listed_physician_ids:
        return None  # GATE-PHYSICIAN-UNKNOWN explains a missing one
    return Violation()


@rule(
    "GATE-FACT-CONFLICTS-RECORD",
    severity="block",
    msgid=gettext_noop("What the request states contradicts the record: {conflicts}."),
    source=SRC_CONTENT,
)
def fact_conflicts_record(ctx: Context) -> Violation | None:
    """A stated fact may not overrule the record it describes (a lot made for IV is given IV)."""
    conflicts = ctx.request.conflicts
    if not conflicts:
        return None
    text = "; ".join(f"{c.field} '{c.stated}' ≠ '{c.recorded}'" for c in conflicts)
    return Violation({"conflicts": text})


@rule(
    "GATE-CELL-SOURCE-UNKNOWN",
    severity="block",
    msgid=gettext_noop(
        "The cell source is not stated and no record shows it, so it cannot be checked "
        "against the plan."
    ),
    source=SRC_CONTENT,
)
def cell_source_unknown(ctx: Context) -> Violation | None:
    """Without a stated or recorded cell source the gate cannot prove the act is the planned one."""
    return Violation() if not ctx.request.cell_source else None


@rule(
    "GATE-CELL-SOURCE-NOT-IN-PLAN",
    severity="block",
    msgid=gettext_noop("The cell source '{cell_source}' is not the one described in the plan."),
    source=SRC_CONTENT,
)
def cell_source_not_in_plan(ctx: Context) -> Violation | None:
    """The cells must come from the source the plan and its class were reviewed for."""
    source = ctx.request.cell_source
    if not source or source in ctx.facts.allowed_cell_sources:
        return None
    return Violation({"cell_source": source})


@rule(
    "GATE-INDICATION-UNKNOWN",
    severity="block",
    msgid=gettext_noop(
        "The patient's diagnosis is not on record, so the indication cannot be checked "
        "against the plan. A physician records it on the patient's page."
    ),
    source=SRC_CONTENT,
    acts=CLINICAL_ACTS,
)
def indication_unknown(ctx: Context) -> Violation | None:
    """The indication comes from the patient's coded diagnosis; without it the gate refuses."""
    return Violation() if not ctx.request.indication else None


@rule(
    "GATE-INDICATION-NOT-IN-PLAN",
    severity="block",
    msgid=gettext_noop(
        "The indication '{indication}' is not one the plan covers (the plan targets: {target})."
    ),
    source=SRC_CONTENT,
    acts=CLINICAL_ACTS,
)
def indication_not_in_plan(ctx: Context) -> Violation | None:
    """The patient's disease must be an indication the plan describes."""
    indication = ctx.request.indication
    if not indication or indication in ctx.facts.allowed_indications:
        return None
    return Violation(
        {
            "indication": ctx.request.indication_label or indication,
            "target": ctx.facts.target_disease or "—",
        }
    )


@rule(
    "GATE-ROUTE-UNKNOWN",
    severity="block",
    msgid=gettext_noop(
        "The route is not stated and no record shows it, so it cannot be checked against the plan."
    ),
    source=SRC_CONTENT,
    acts=PRODUCT_ACTS,
)
def route_unknown(ctx: Context) -> Violation | None:
    """The route comes from the request or the dose's lot; without either the gate refuses."""
    return Violation() if not ctx.request.route else None


@rule(
    "GATE-ROUTE-NOT-IN-PLAN",
    severity="block",
    msgid=gettext_noop("The route '{route}' is not allowed by the plan."),
    source=SRC_CONTENT,
    acts=PRODUCT_ACTS,
)
def route_not_in_plan(ctx: Context) -> Violation | None:
    """The route (e.g. IV or intrathecal) must be one the plan describes."""
    route = ctx.request.route
    if not route or route in ctx.facts.allowed_routes:
        return None
    return Violation({"route": route})


@rule(
    "GATE-DOSE-UNKNOWN",
    severity="block",
    msgid=gettext_noop(
        "No dose is stated and no record shows one, so it cannot be checked against the plan."
    ),
    source=SRC_CONTENT,
    acts=PRODUCT_ACTS,
)
def dose_unknown(ctx: Context) -> Violation | None:
    """The dose comes from the request or the bag's cell count; without either the gate refuses."""
    return Violation() if ctx.request.dose_cells is None else None


@rule(
    "GATE-DOSE-OUTSIDE-PLAN",
    severity="block",
    msgid=gettext_noop(
        "The dose of {dose} cells is outside the plan's range ({min} to {max} cells)."
    ),
    source=SRC_CONTENT,
    acts=PRODUCT_ACTS,
)
def dose_outside_plan(ctx: Context) -> Violation | None:
    """The dose must lie within the range the plan describes."""
    f, dose = ctx.facts, ctx.request.dose_cells
    params = {
        "dose": _cells(dose),
        "min": _cells(f.dose_min_cells),
        "max": _cells(f.dose_max_cells),
    }
    if dose is None:
        return None  # GATE-DOSE-UNKNOWN explains it
    if f.dose_min_cells is None and f.dose_max_cells is None:
        return Violation(
            params,
            gettext_noop("The plan has no dose range on record, so the dose cannot be checked."),
        )
    too_low = f.dose_min_cells is not None and dose < f.dose_min_cells
    too_high = f.dose_max_cells is not None and dose > f.dose_max_cells
    return Violation(params) if too_low or too_high else None


@rule(
    "GATE-ADMINISTRATION-LIMIT",
    severity="block",
    msgid=gettext_noop(
        "Administration number {number} is beyond the plan's limit of {max} "
        "({given} already given)."
    ),
    source=SRC_CONTENT,
    acts=frozenset({Act.ADMINISTRATION}),
)
def administration_limit(ctx: Context) -> Violation | None:
    """The number of administrations may not exceed what the plan describes."""
    f = ctx.facts
    number = ctx.request.administration_number or f.administrations_given + 1
    params = {"number": number, "max": f.max_administrations, "given": f.administrations_given}
    if f.max_administrations is None:
        return Violation(
            params,
            gettext_noop("The plan has no maximum number of administrations on record."),
        )
    if number > f.max_administrations or f.administrations_given >= f.max_administrations:
        return Violation(params)
    return None


@rule(
    "GATE-ADMINISTRATION-SEQUENCE",
    severity="warn",
    msgid=gettext_noop(
        "Administration number {number} does not follow the {given} already recorded; check the record."
    ),
    source=SRC_CONTENT,
    acts=frozenset({Act.ADMINISTRATION}),
)
def administration_sequence(ctx: Context) -> Violation | None:
    """A gap or repeat in numbering usually means a missing or duplicate record."""
    number, given = ctx.request.administration_number, ctx.facts.administrations_given
    if number is not None and number != given + 1:
        return Violation({"number": number, "given": given})
    return None


def _listed_facility(ctx: Context) -> FacilityFacts | None:
    return next(
        (x for x in ctx.facts.listed_facilities if x.facility_id == ctx.request.facility_id), None
    )


@rule(
    "GATE-CPC-UNKNOWN",
    severity="block",
    msgid=gettext_noop(
        "No cell processing facility is named and no record shows one, so it cannot be "
        "checked against the plan."
    ),
    source=SRC_CPC_LISTED,
)
def cpc_unknown(ctx: Context) -> Violation | None:
    """The facility comes from the request, the donation or the dose's lot; never from the plan."""
    return Violation() if ctx.request.facility_id is None else None


@rule(
    "GATE-CPC-NOT-LISTED",
    severity="block",
    msgid=gettext_noop("The cell processing facility is not listed in the plan."),
    source=SRC_CPC_LISTED,
)
def cpc_not_listed(ctx: Context) -> Violation | None:
    """Cells may be processed only by a facility the plan names."""
    if ctx.request.facility_id is None:
        return None  # GATE-CPC-UNKNOWN explains it
    return None if _listed_facility(ctx) is not None else Violation()


@rule(
    "GATE-CPC-NOT-AUTHORISED",
    severity="block",
    msgid=gettext_noop(
        "The cell processing facility has no valid licence, notification or accreditation on {date}."
    ),
    source=SRC_CPC_AUTH,
)
def cpc_not_authorised(ctx: Context) -> Violation | None:
    """Processing must be done by a facility with a licence, notification or accreditation in its
    register in force on the day; no record means not authorised."""
    facility = _listed_facility(ctx)
    if facility is None:
        return None  # GATE-CPC-NOT-LISTED already explains it
    day = ctx.act_date
    valid = any(
        p.kind in AUTHORISED and p.valid_from <= day and (p.last_day is None or day <= p.last_day)
        for p in facility.periods
    )
    return None if valid else Violation({"date": day.isoformat()})


@rule(
    "GATE-CONSENT-NOT-VALID",
    severity="block",
    msgid=gettext_noop(
        "There is no valid written consent from this patient for this version of the plan."
    ),
    source=SRC_CONSENT,
)
def consent_not_valid(ctx: Context) -> Violation | None:
    """Consent must be written, current, and given for the plan version in use."""
    consent = ctx.facts.consent
    ok = (
        consent.status == "valid"
        and consent.plan_version_id == ctx.request.plan_version_id
        and (consent.patient_id is None or consent.patient_id == ctx.request.patient_id)
    )
    return None if ok else Violation()


def _overdue(ctx: Context, *, periodic: bool) -> list[OverdueObligation]:
    return [
        o
        for o in ctx.facts.overdue_obligations
        if (o.rule == "PERIODIC-REPORT") == periodic and o.due_date < ctx.act_date
    ]


@rule(
    "GATE-PERIODIC-REPORT-OVERDUE",
    severity="warn",
    msgid=gettext_noop("A periodic report for this plan is overdue (it was due on {due_date})."),
    source=SRC_PERIODIC,
)
def periodic_report_overdue(ctx: Context) -> Violation | None:
    """An overdue periodic report does not stop treatment, but the regulator will ask about it."""
    overdue = _overdue(ctx, periodic=True)
    if not overdue:
        return None
    return Violation({"due_date": min(o.due_date for o in overdue).isoformat()})


@rule(
    "GATE-REPORT-OVERDUE",
    severity="warn",
    msgid=gettext_noop(
        "{count} other report(s) for this plan are overdue (earliest due on {due_date})."
    ),
    source=SRC_AE,
)
def other_report_overdue(ctx: Context) -> Violation | None:
    """Overdue adverse-event or change notices are shown so they are not forgotten."""
    overdue = _overdue(ctx, periodic=False)
    if not overdue:
        return None
    return Violation(
        {"count": len(overdue), "due_date": min(o.due_date for o in overdue).isoformat()}
    )


def _act(value: Act | str) -> Act:
    try:
        return Act(value)
    except ValueError:
        raise DomainError(
            "gate.invalid_input",
            gettext("Unknown act '{act}'.").format(act=value),
            fields={"act": [str(value)]},
        ) from None


def _state(value: PlanState | str) -> PlanState:
    try:
        return PlanState(value)
    except ValueError:
        raise DomainError(
            "gate.invalid_input",
            gettext("Unknown plan state '{state}'.").format(state=value),
            fields={"plan_state": [str(value)]},
        ) from None


def _finding(gate_rule: GateRule, violation: Violation) -> Finding:
    message, message_ja = render(violation.msgid or gate_rule.msgid, violation.params)
    return Finding(gate_rule.id, gate_rule.severity, message, message_ja, gate_rule.source)


def evaluate_gate(
    request: GateRequest, facts: GateFacts, *, config: GateConfig | None = None
) -> GateResult:
    """Run every gate rule for the act and explain each failure; dates are taken in Tokyo time."""
    if request.at.tzinfo is None or request.at.utcoffset() is None:
        raise DomainError(
            "gate.naive_datetime",
            gettext("The time of the act must include a time zone."),
            fields={"at": ["timezone"]},
        )
    request = replace(request, act=_act(request.act))
    ctx = Context(
        request=request,
        facts=facts,
        act_date=request.at.astimezone(TOKYO).date(),
        state=_state(facts.plan_state),
        config=config or GateConfig(),
    )
    findings: list[Finding] = []
    for gate_rule in GATE_RULES:
        if request.act not in gate_rule.acts:
            continue
        violation = gate_rule.check(ctx)
        if violation is None:
            continue
        findings.append(_finding(gate_rule, violation))
        if gate_rule.id == "GATE-PLAN-MISSING":
            break  # without the plan nothing else can be judged
    allowed = not any(f.severity == "block" for f in findings)
    return GateResult(allowed=allowed, act_date=ctx.act_date, findings=tuple(findings))
