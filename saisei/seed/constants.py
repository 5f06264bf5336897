"""Shapes of the synthetic network and how its names mark it synthetic."""

from __future__ import annotations

import datetime as dt

from saisei.core.models import Role

D = dt.timedelta
SYNTH_PASSWORD = "saisei-synthetic-2026"
INFUSIONS = 3
INTERVAL_DAYS = 28
CULTURE_DAYS = 35
CELLS_PER_DOSE = 100_000_000
FOLLOW_UP_MONTHS = (3, 6, 12)
STAFF_ROLES = (
    Role.COORDINATOR,
    Role.PHYSICIAN,
    Role.NURSE,
    Role.CPC_TECHNICIAN,
    Role.QA_MANAGER,
    Role.COMPLIANCE_OFFICER,
    Role.ORG_ADMIN,
)


def org_slug(seed: int, k: int) -> str:
    return f"synth-s{seed}-o{k}"


def patient_code(seed: int, k: int, i: int) -> str:
    return f"S{seed}-{k}-{i:06d}"
