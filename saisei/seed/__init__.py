"""A synthetic national network for scale tests: ``saisei seed --patients N``.

Organisations, their registry and a plan in force are built through the services (a handful of
rows). Patients and everything that follows them (inquiry to follow-up) are built in memory and
written in batches by ``writer`` (one precompiled INSERT per model, COPY on PostgreSQL: what
``bulk_create`` stores, without its per-chunk compilation), together with the audit-ledger
entries the services would have written, chained in bulk by ``chain_append`` so ``saisei audit
verify`` passes. ``scripts/seed_fingerprint.py`` checks that a change leaves the data the same.

Every name and code says it is synthetic: organisations are "SYNTH …" with slugs
``synth-s<seed>-o<k>``, patients are family name ``SYNTH`` with codes starting ``S``, e-mail
addresses end in ``.invalid``. A patient's data depends only on (seed, organisation, index),
so a run stopped half-way resumes where it stopped and a second run adds nothing.

This module composes every app, like ``saisei.api``; it lives outside the app layers.
Row history (django-simple-history) is not written for seeded rows: they have no history.
"""

import datetime as dt
import random
import sys
import time
from dataclasses import dataclass
from typing import TextIO

from django.db import models, transaction
from django.utils import timezone

from saisei.core.models import Organisation
from saisei.seed.chain import Draft, chain_append
from saisei.seed.constants import D, org_slug, patient_code
from saisei.seed.network import OrgSetup, _network
from saisei.seed.story import Batch, _models, _patient_rows, _reserve_din_numbers

__all__ = ["Draft", "SeedResult", "chain_append", "org_slug", "patient_code", "seed"]


def _existing(setup: OrgSetup) -> int:
    from saisei.journey.models import Patient

    return Patient.objects.filter(organisation=setup.org, patient_code__startswith="S").count()


def _ae_numbers(org: Organisation) -> dict[int, int]:
    """The last event number used per year (AE-YYYY-NNNN), so seeded events continue it."""
    from saisei.safety.models import AdverseEvent

    last: dict[int, int] = {}
    for number in AdverseEvent.objects.filter(organisation=org).values_list("number", flat=True):
        parts = number.split("-")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            year, n = int(parts[1]), int(parts[2])
            last[year] = max(last.get(year, 0), n)
    return last


class Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int, out: TextIO) -> None:
        self.total, self.done, self.out, self.start = total, 0, out, time.monotonic()

    def step(self, n: int) -> None:
        self.done += n
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        elapsed = time.monotonic() - self.start
        self.out.write(
            f"\rseed [{'#' * filled}{'.' * (width - filled)}] "
            f"{self.done}/{self.total} patients, {elapsed:.0f} s"
        )
        self.out.flush()

    def finish(self) -> None:
        self.out.write("\n")


@dataclass
class SeedResult:
    organisations: int
    patients_added: int
    rows: int
    audit_entries: int
    seconds: float


def seed(
    *,
    patients: int,
    organisations: int = 1,
    seed: int = 1,
    batch_size: int = 250,
    progress: TextIO | None = None,
    today: dt.date | None = None,
) -> SeedResult:
    """Fill the database with ``patients`` synthetic patients over ``organisations`` clinics."""
    if patients < 0 or organisations < 1:
        raise ValueError("patients must be >= 0 and organisations >= 1")
    started = time.monotonic()
    today = today or timezone.localdate()
    order = _models()
    per_org = [
        patients // organisations + (1 if k < patients % organisations else 0)
        for k in range(organisations)
    ]
    bar = Progress(patients, progress or sys.stderr)
    added = rows = entries = 0
    for k, wanted in enumerate(per_org, start=1):
        setup = _network(seed, k, today)
        have = _existing(setup)
        bar.step(min(have, wanted))
        ae_seq = _ae_numbers(setup.org)
        for lo in range(have, wanted, batch_size):
            hi = min(wanted, lo + batch_size)
            with transaction.atomic():
                din_seq = _din_blocks(setup, seed, lo, hi, today)
                b = Batch()
                for i in range(lo, hi):
                    _patient_rows(
                        b, setup, seed=seed, i=i + 1, today=today, din_seq=din_seq, ae_seq=ae_seq
                    )
                rows += b.write(order)
                entries += chain_append(setup.org, b.drafts)
            added += hi - lo
            bar.step(hi - lo)
    bar.finish()
    if added:
        _analyze(order)
    return SeedResult(organisations, added, rows, entries, time.monotonic() - started)


def _analyze(order: list[type[models.Model]]) -> None:
    """Refresh the planner's statistics of every table written. After a bulk load they still
    describe the empty tables until autovacuum gets round to them, and PostgreSQL then chose
    nested loops over a hundred thousand rows (a cohort read took minutes instead of seconds)."""
    from django.db import connection

    from saisei.core.models import AuditEntry

    written: list[type[models.Model]] = [*order, AuditEntry]
    tables = dict.fromkeys(m._meta.db_table for m in written)
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


def _din_blocks(setup: OrgSetup, seed: int, lo: int, hi: int, today: dt.date) -> dict[int, int]:
    """Reserve the DIN numbers a batch will use, per collection year (a harvest's year)."""
    from saisei.processing.rules import processing_config

    years: dict[int, int] = {}
    for i in range(lo + 1, hi + 1):
        rng = random.Random(f"{seed}:{setup.k}:{i}")
        year = (today - D(rng.randint(7, 560))).year
        years[year] = years.get(year, 0) + 1
    facility_id = processing_config().facility_id
    return {y: _reserve_din_numbers(facility_id, y, n) for y, n in years.items()}
