"""Inputs and outputs of the compliance gate: the request, the facts snapshot and the result.

The Django selector fills ``GateFacts`` in a constant number of queries (plan version with its
lists, facilities, consent, overdue obligations); nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from .deadlines import DeadlineConfig
from .lifecycle import PlanState

__all__ = [
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
    "OverdueObligation",
    "Severity",
]

Severity = Literal["block", "warn"]


class Act(StrEnum):
    HARVEST = "harvest"  # harvest of cells for processing
    RELEASE = "release"  # QA's release of a lot made from a donation under the plan
    ADMINISTRATION = "administration"


@dataclass(frozen=True)
class FactConflict:
    """A fact the caller stated that contradicts the record (e.g. route IV on an intrathecal lot)."""

    field: str
    stated: str
    recorded: str


@dataclass(frozen=True)
class GateRequest:
    """The proposed act: each fact as stated by the caller or, when omitted, as the records hold it.

    ``None`` means neither the caller nor any record could say; the rule for that fact refuses.
    The plan's own values are never used to fill a fact in (they are what the fact is judged
    against).
    """

    act: Act
    at: datetime
    institution_id: int
    physician_id: int | None
    patient_id: int
    plan_version_id: int
    cell_source: str | None
    facility_id: int | None
    indication: str | None = None  # a code from the indication table (or unmatched text)
    indication_label: str | None = None  # how messages show it (label and ICD-10 code)
    route: str | None = None
    dose_cells: int | None = None
    administration_number: int | None = None
    conflicts: tuple[FactConflict, ...] = ()


@dataclass(frozen=True)
class AuthorisationPeriod:
    """One record of the facility's licence register: its kind and the days it is in force."""

    kind: str  # "licensed" | "notified" | "accredited"; anything else is not authorised
    valid_from: date
    last_day: date | None = None  # None: a notification, in force until it is ended


@dataclass(frozen=True)
class FacilityFacts:
    """A processing facility listed in the plan and its licence register (ASRM Ch. IV).

    No period in force on the day means not authorised: the gate never assumes a licence.
    """

    facility_id: int
    periods: tuple[AuthorisationPeriod, ...] = ()


@dataclass(frozen=True)
class ConsentFacts:
    """The patient's most recent consent record relevant to this plan."""

    status: str  # "valid" | "withdrawn" | "expired" | "missing"
    plan_version_id: int | None = None
    patient_id: int | None = None


@dataclass(frozen=True)
class OverdueObligation:
    """An obligation past its due date and not yet fulfilled; ``rule`` is a deadline rule id."""

    rule: str
    due_date: date


@dataclass(frozen=True)
class GateFacts:
    """Everything the rules need about the plan version named in the request (None: not found)."""

    plan_version_id: int | None
    plan_state: PlanState | str = PlanState.DRAFT
    risk_class: int | None = None  # unknown is treated as Class I where it matters
    institution_id: int | None = None
    submitted_date: date | None = None
    accepted_date: date | None = None
    in_force_from: date | None = None
    in_force_until: date | None = None
    listed_physician_ids: frozenset[int] = frozenset()
    allowed_cell_sources: frozenset[str] = frozenset()
    allowed_indications: frozenset[str] = frozenset()  # indication codes the plan's text names
    target_disease: str = ""  # the plan's own wording, for messages
    allowed_routes: frozenset[str] = frozenset()
    dose_min_cells: int | None = None
    dose_max_cells: int | None = None
    max_administrations: int | None = None
    administrations_given: int = 0
    listed_facilities: tuple[FacilityFacts, ...] = ()
    consent: ConsentFacts = field(default_factory=lambda: ConsentFacts(status="missing"))
    overdue_obligations: tuple[OverdueObligation, ...] = ()


@dataclass(frozen=True)
class GateConfig:
    """Tunable parts of the gate; the Class I wait comes from the deadline configuration."""

    deadlines: DeadlineConfig = field(default_factory=DeadlineConfig)


@dataclass(frozen=True)
class Finding:
    """One failed or warning rule, explained in the active language and in Japanese."""

    rule: str
    severity: Severity
    message: str
    message_ja: str
    source: str

    def as_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "message_ja": self.message_ja,
            "source": self.source,
        }


@dataclass(frozen=True)
class GateResult:
    """Allowed unless a blocking finding exists; warnings never block."""

    allowed: bool
    act_date: date
    findings: tuple[Finding, ...]

    @property
    def rule_ids(self) -> list[str]:
        return [f.rule for f in self.findings]

    def as_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "act_date": self.act_date,
            "findings": [f.as_dict() for f in self.findings],
        }
