"""Deployment-tunable parts of the regulatory rules, read from settings with safe defaults.

Items the facts sheet marks uncertain are data here, never constants: a deployment may set
``SAISEI_REGULATORY_DEADLINES`` (keyword arguments of ``rules.DeadlineConfig``) and
``SAISEI_REGULATORY_REMINDER_DAYS`` (lead times in days before a due date) and
``SAISEI_INDICATIONS`` (extra coded indications: dicts with code, icd10, label and terms).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from saisei.regulatory.rules import DeadlineConfig, GateConfig
from saisei.regulatory.rules.indications import DEFAULT_INDICATIONS, Indication

# Reminders a month, a week, two days and on the day before a deadline; overdue ones daily.
DEFAULT_REMINDER_DAYS: tuple[int, ...] = (30, 7, 2, 0)

# ⚠ The sheet names no deadline for the end-of-provision notice (別紙様式第9の2); a house
# target, configurable, keeps it on the compliance officer's list.
DEFAULT_END_OF_PROVISION_DAYS = 30


def deadline_config() -> DeadlineConfig:
    overrides: dict[str, Any] = dict(getattr(settings, "SAISEI_REGULATORY_DEADLINES", {}) or {})
    for key in ("roll_forward_recipients", "extra_closed_days", "ministry_report_risk_classes"):
        if key in overrides:
            overrides[key] = frozenset(overrides[key])
    return DeadlineConfig(**overrides)


def gate_config() -> GateConfig:
    return GateConfig(deadlines=deadline_config())


def reminder_days() -> tuple[int, ...]:
    days = getattr(settings, "SAISEI_REGULATORY_REMINDER_DAYS", None) or DEFAULT_REMINDER_DAYS
    return tuple(sorted({int(d) for d in days}, reverse=True))


def end_of_provision_days() -> int:
    return int(
        getattr(settings, "SAISEI_REGULATORY_END_OF_PROVISION_DAYS", DEFAULT_END_OF_PROVISION_DAYS)
    )


def indication_vocabulary() -> tuple[Indication, ...]:
    """The coded indications: the cited default table plus a deployment's own rows."""
    extra = getattr(settings, "SAISEI_INDICATIONS", None) or ()
    rows = {row.code: row for row in DEFAULT_INDICATIONS}
    for item in extra:
        row = Indication(
            code=str(item["code"]),
            icd10=str(item["icd10"]),
            label=str(item["label"]),
            terms=tuple(str(t) for t in item.get("terms", ())),
        )
        rows[row.code] = row
    return tuple(rows.values())
