"""Bedside checks as a declarative table: each rule has a stable code, a source and a pure check.

The service gathers a ``BedsideFacts`` snapshot from the database; ``evaluate_bedside`` runs every
rule on it, so the rules can be read and tested without a database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from saisei.core.timezones import TOKYO

SRC_IDENTITY = (
    "FACT-JACIE clinical standards (recipient and product identity checked before "
    "administration); ISBT 128 ST-028 (chain-of-identity identifier); DESIGN invariant 2"
)
SRC_COURSE_IDENTITY = (
    "ISBT 128 ST-028 (one chain-of-identity identifier per therapy event, here the treatment "
    "course); DESIGN invariant 2"
)
SRC_RELEASE = "ASRM Ordinance manufacturing control (release by QA); DESIGN invariant 4"
SRC_USE_BY = (
    "Post-thaw viability and use-by time at the clinical site, as in CONCERT-HF: Bolli et al., "
    "Circ Res 2018 (https://pmc.ncbi.nlm.nih.gov/articles/PMC5993622/)"
)
SRC_ONCE = "DESIGN invariant 3 (a dose is administered at most once)"
SRC_COURSE = "ASRM Art. 13 (provide as described in the plan); the patient's treatment course"
SRC_GATE = "ASRM Art. 4, 13, 14 (plan in force, physician listed, route, consent); invariant 1"

RELEASED_LOT_STATES = frozenset({"released", "conditionally_released"})
BLOCKED_DOSE_STATES = frozenset({"quarantine", "recalled", "discarded", "on_hold"})


@dataclass(frozen=True)
class BedsideConfig:
    """House parameters the facts leave open; defaults are the cautious choice."""

    # How far the bag's cell count may differ from the planned dose of the step (fraction).
    dose_tolerance: float = 0.10
    # How long a passed verification stays valid for recording the administration.
    verification_valid_minutes: int = 30


@dataclass(frozen=True)
class DoseFacts:
    id: int
    label: str  # DIN + product code, as people read it
    patient_id: int
    donation_patient_id: int | None
    coi: str
    donation_coi: str
    course_id: int | None  # the treatment course the bag's donation was collected for
    status: str
    lot_status: str
    lot_number: str
    lot_route: str
    sequence: int
    cell_count: float
    thawed_at: dt.datetime | None
    use_by: dt.datetime | None
    expires_at: dt.datetime | None
    administered: bool
    status_reason: str = ""


@dataclass(frozen=True)
class StepFacts:
    id: int
    kind: str
    number: int
    status: str
    route: str
    planned_dose_cells: int | None
    patient_id: int
    course_id: int
    course_coi: str  # the course's chain-of-identity identifier; "" while none is issued


@dataclass(frozen=True)
class BedsideFacts:
    """Everything the checks need, loaded by the service."""

    at: dt.datetime
    route: str
    patient_id: int | None
    patient_label: str
    wristband_coi: str | None
    doses: tuple[DoseFacts, ...]
    unresolved_scans: tuple[str, ...]
    step: StepFacts | None
    gate_allowed: bool | None
    gate_messages: tuple[str, ...] = ()
    config: BedsideConfig = field(default_factory=BedsideConfig)


@dataclass(frozen=True)
class CheckResult:
    code: str
    passed: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "passed": self.passed, "message": self.message}


@dataclass(frozen=True)
class BedsideRule:
    code: str
    source: str
    check: Callable[[BedsideFacts], CheckResult]


def _ok(code: str, message: str) -> CheckResult:
    return CheckResult(code, True, message)


def _fail(code: str, message: str) -> CheckResult:
    return CheckResult(code, False, message)


def _dose(f: BedsideFacts) -> DoseFacts | None:
    return f.doses[0] if len(f.doses) == 1 else None


def check_patient_identified(f: BedsideFacts) -> CheckResult:
    """The wristband must identify one patient of this organisation."""
    code = "patient_identified"
    if f.patient_id is None:
        return _fail(code, _("The wristband scan does not identify a patient of this clinic."))
    return _ok(code, _("Wristband identifies %(patient)s.") % {"patient": f.patient_label})


def check_dose_identified(f: BedsideFacts) -> CheckResult:
    """Each label scan must identify a dose, and all scans must be of one bag."""
    code = "dose_identified"
    if f.unresolved_scans:
        return _fail(
            code,
            _("A label scan does not identify a dose: %(scan)s")
            % {"scan": ", ".join(f.unresolved_scans)},
        )
    if not f.doses:
        return _fail(code, _("Scan the label of the bag."))
    if len(f.doses) > 1:
        return _fail(code, _("The scans name more than one bag; scan one bag at a time."))
    return _ok(code, _("Label identifies dose %(dose)s.") % {"dose": f.doses[0].label})


def check_same_patient(f: BedsideFacts) -> CheckResult:
    """Wristband, dose, donation and CoI must all name the same patient (chain of identity)."""
    code = "same_patient"
    dose = _dose(f)
    if f.patient_id is None or dose is None:
        return _fail(code, _("Identity cannot be compared until patient and bag are identified."))
    if dose.patient_id != f.patient_id or dose.donation_patient_id != f.patient_id:
        return _fail(code, _("This bag belongs to another patient. Do not give it."))
    if dose.coi and dose.donation_coi and dose.coi != dose.donation_coi:
        return _fail(code, _("The bag's identity code does not match its donation."))
    if f.wristband_coi and dose.coi and f.wristband_coi != dose.coi:
        return _fail(code, _("The wristband's identity code does not match the bag."))
    if f.step is not None and f.step.patient_id != f.patient_id:
        return _fail(code, _("The course step belongs to another patient."))
    return _ok(code, _("Patient, donation and bag match along the chain of identity."))


def check_same_course(f: BedsideFacts) -> CheckResult:
    """The bag must be made for this treatment course and carry the course's chain-of-identity
    identifier, so a dose of one course never passes for another course of the same patient."""
    code = "same_course"
    dose, step = _dose(f), f.step
    if dose is None or step is None:
        return _fail(
            code, _("The treatment course cannot be compared until bag and course step are known.")
        )
    if dose.course_id is None:
        return _fail(
            code,
            _(
                "This bag's donation is not bound to a treatment course, so its identity cannot "
                "be proven. Do not give it."
            ),
        )
    if dose.course_id != step.course_id:
        return _fail(
            code,
            _("This bag was made for another treatment course of this patient. Do not give it."),
        )
    if not step.course_coi:
        return _fail(
            code, _("No chain-of-identity identifier has been issued for this treatment course.")
        )
    if dose.coi != step.course_coi or dose.donation_coi != step.course_coi:
        return _fail(
            code,
            _("The bag's chain-of-identity identifier is not this course's. Do not give it."),
        )
    if f.wristband_coi and f.wristband_coi != step.course_coi:
        return _fail(code, _("The wristband's chain-of-identity identifier is not this course's."))
    return _ok(
        code,
        _("The bag was made for this treatment course (%(coi)s).") % {"coi": step.course_coi},
    )


def check_dose_released(f: BedsideFacts) -> CheckResult:
    """Only a dose of a lot QA released, not quarantined, recalled or discarded, may be given."""
    code = "dose_released"
    dose = _dose(f)
    if dose is None:
        return _fail(code, _("No bag identified."))
    if dose.status == "recalled":
        return _fail(code, _("This dose has been recalled. Do not give it."))
    if dose.status == "on_hold":
        return _fail(
            code,
            _("This dose is on hold for QA (%(reason)s). Do not give it.")
            % {"reason": dose.status_reason or "—"},
        )
    if dose.status in BLOCKED_DOSE_STATES:
        return _fail(
            code, _("This dose is %(status)s and may not be given.") % {"status": dose.status}
        )
    if dose.lot_status not in RELEASED_LOT_STATES:
        return _fail(
            code,
            _("Lot %(lot)s is %(status)s, not released by QA.")
            % {"lot": dose.lot_number, "status": dose.lot_status},
        )
    return _ok(code, _("Lot %(lot)s is released.") % {"lot": dose.lot_number})


def check_within_use_by(f: BedsideFacts) -> CheckResult:
    """A thawed dose must be given before its post-thaw use-by time (and before expiry)."""
    code = "within_use_by"
    dose = _dose(f)
    if dose is None:
        return _fail(code, _("No bag identified."))
    if dose.thawed_at is None or dose.use_by is None:
        return _fail(code, _("The thaw of this bag has not been recorded with a use-by time."))
    if f.at > dose.use_by:
        return _fail(
            code,
            _("The use-by time after thaw passed at %(time)s. Do not give it.")
            % {"time": _local(dose.use_by)},
        )
    if dose.expires_at is not None and f.at > dose.expires_at:
        return _fail(code, _("The dose has expired."))
    minutes = int((dose.use_by - f.at).total_seconds() // 60)
    return _ok(
        code,
        _("Use by %(time)s (%(minutes)d minutes left).")
        % {"time": _local(dose.use_by), "minutes": minutes},
    )


def check_not_administered(f: BedsideFacts) -> CheckResult:
    """A bag is given once (DESIGN invariant 3)."""
    code = "not_administered"
    dose = _dose(f)
    if dose is None:
        return _fail(code, _("No bag identified."))
    if dose.administered or dose.status == "administered":
        return _fail(code, _("This dose has already been given."))
    return _ok(code, _("This dose has not been given before."))


def check_matches_course_step(f: BedsideFacts) -> CheckResult:
    """The bag must be the one planned for this infusion: its number, its dose and the route."""
    code = "matches_course_step"
    dose, step = _dose(f), f.step
    if step is None:
        return _fail(code, _("Choose the course step (which infusion this is)."))
    if step.kind != "infusion":
        return _fail(code, _("This course step is not an infusion."))
    if step.status in ("done", "cancelled"):
        return _fail(code, _("This course step is already done or cancelled."))
    if dose is None:
        return _fail(code, _("No bag identified."))
    if dose.sequence != step.number:
        return _fail(
            code,
            _("This is dose %(dose)d, but infusion %(step)d is planned.")
            % {"dose": dose.sequence, "step": step.number},
        )
    if step.planned_dose_cells:
        deviation = abs(dose.cell_count - step.planned_dose_cells) / step.planned_dose_cells
        if deviation > f.config.dose_tolerance:
            return _fail(
                code,
                _("The bag holds %(bag).3g cells; %(planned).3g are planned.")
                % {"bag": dose.cell_count, "planned": float(step.planned_dose_cells)},
            )
    if step.route and f.route != step.route:
        return _fail(
            code,
            _("The route %(route)s differs from the planned route %(planned)s.")
            % {"route": f.route or "—", "planned": step.route},
        )
    if dose.lot_route and f.route != dose.lot_route:
        return _fail(
            code,
            _("The product was made and tested for the route %(lot)s, not %(route)s.")
            % {"lot": dose.lot_route, "route": f.route or "—"},
        )
    return _ok(code, _("Infusion %(number)d as planned.") % {"number": step.number})


def check_compliance_gate(f: BedsideFacts) -> CheckResult:
    """The compliance gate must allow this administration (plan, physician, route, consent)."""
    code = "compliance_gate"
    if f.gate_allowed is None:
        return _fail(code, _("The compliance gate could not be checked."))
    if not f.gate_allowed:
        return _fail(code, " ".join(f.gate_messages) or _("The compliance gate refused."))
    return _ok(code, _("Plan, physician, route and consent allow this administration."))


BEDSIDE_RULES: tuple[BedsideRule, ...] = (
    BedsideRule("patient_identified", SRC_IDENTITY, check_patient_identified),
    BedsideRule("dose_identified", SRC_IDENTITY, check_dose_identified),
    BedsideRule("same_patient", SRC_IDENTITY, check_same_patient),
    BedsideRule("same_course", SRC_COURSE_IDENTITY, check_same_course),
    BedsideRule("dose_released", SRC_RELEASE, check_dose_released),
    BedsideRule("within_use_by", SRC_USE_BY, check_within_use_by),
    BedsideRule("not_administered", SRC_ONCE, check_not_administered),
    BedsideRule("matches_course_step", SRC_COURSE, check_matches_course_step),
    BedsideRule("compliance_gate", SRC_GATE, check_compliance_gate),
)


def evaluate_bedside(facts: BedsideFacts) -> list[CheckResult]:
    """Run every bedside rule; the verification passes only when all pass."""
    return [rule.check(facts) for rule in BEDSIDE_RULES]


def _local(value: dt.datetime) -> str:
    return value.astimezone(TOKYO).strftime("%H:%M")
