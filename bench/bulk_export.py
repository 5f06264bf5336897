"""Bulk Data export rate against the raw floor, measured in one run (issue 12).

Run:  .venv/bin/python bench/bulk_export.py [--seed-patients N] [--repeat R] [--no-demo]
      (a fresh database under a temporary data directory: the demo, plus N synthetic patients
      from ``saisei seed`` when N > 0; ``--no-demo`` seeds only, which is much quicker on a busy
      machine; DATABASE_URL=postgres://... for PostgreSQL, empty database)

Measures, for the same rows (every source an org_admin can export, one organisation):
  export  — the Bulk Data writer: stream each source, map it to FHIR, write NDJSON;
  raw     — the floor: stream the same querysets as plain rows (``values()``) and write each
            row as one JSON line, with no mapping.
Prints resources per second for both (median of the repeats) and the ratio; goal ≥ 0.30.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SAISEI_DATA_DIR", tempfile.mkdtemp(prefix="saisei-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saisei.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402


def _arg(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def main() -> None:
    from saisei.core.demo import load_demo
    from saisei.core.models import Role, User
    from saisei.interop.fhir import bulk
    from saisei.interop.fhir.registry import RESOURCE_TYPES

    seed_patients = int(_arg("--seed-patients", "300"))
    repeat = int(_arg("--repeat", "3"))
    call_command("migrate", verbosity=0)
    if "--no-demo" not in sys.argv:
        load_demo(stdout=io.StringIO())
    if seed_patients:
        call_command("seed", patients=seed_patients, organisations=1, stdout=io.StringIO())
    # The organisation with the most patients, read by its administrator.
    admins = User.objects.filter(role_grants__role=Role.ORG_ADMIN, organisation__isnull=False)
    from saisei.journey.models import Patient

    actor = max(admins, key=lambda u: Patient.objects.filter(organisation=u.organisation).count())
    types = [n for n, rt in RESOURCE_TYPES.items() if rt.readable_sources(actor)]
    out = Path(tempfile.mkdtemp(prefix="saisei-bench-export-"))

    def export() -> int:
        items = bulk.write(
            actor=actor,
            directory=out / "export",
            types=types,
            patients=None,
            since=None,
            on_progress=lambda _n: None,
        )
        return sum(i["count"] for i in items)

    def raw() -> int:
        count = 0
        (out / "raw").mkdir(exist_ok=True)
        for name, querysets in bulk.plan_sources(
            actor=actor, types=types, patients=None, since=None
        ):
            with (out / "raw" / f"{name}.ndjson").open("w", encoding="utf-8") as handle:
                for qs, _source in querysets:
                    for row in qs.values().iterator(chunk_size=bulk.CHUNK):
                        handle.write(json.dumps(row, default=str, ensure_ascii=False))
                        handle.write("\n")
                        count += 1
        return count

    results: dict[str, list[float]] = {"export": [], "raw": []}
    counts: dict[str, int] = {}
    for _ in range(repeat):
        for name, fn in (("raw", raw), ("export", export)):
            started = time.perf_counter()
            counts[name] = fn()
            results[name].append(counts[name] / (time.perf_counter() - started))
    rate = {k: statistics.median(v) for k, v in results.items()}
    ratio = rate["export"] / rate["raw"]
    engine = django.db.connection.vendor
    print(
        f"database: {engine}; resources per run: export {counts['export']}, raw rows {counts['raw']}"
    )
    print(f"{'measure':<34}{'value':>14}  goal")
    print(f"{'raw read + NDJSON (rows/s)':<34}{rate['raw']:>14,.0f}  (floor)")
    print(f"{'bulk export (resources/s)':<34}{rate['export']:>14,.0f}")
    met = "met" if ratio >= 0.30 else "MISSED"
    print(f"{'export / raw':<34}{ratio:>14.2f}  >= 0.30 {met}")


if __name__ == "__main__":
    main()
