"""Busiest reads on a database that is already seeded (e.g. 100,000 patients), demo org beside.

Run:  DATABASE_URL=... .venv/bin/python bench/reads.py [--seed 13] [--repeat 30]
The database must hold the demo (`saisei demo --no-serve`) and a seeded network
(`saisei seed --patients N --seed S`); seeding 100,000 patients takes most of an hour, so this
measures without seeding again. Prints p95 per read at demo size and at the seeded size, their
ratio, and the goal (issue 13: <= 100 ms and <= 3x demo). Timings live here, never in tests.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SAISEI_DATA_DIR", tempfile.mkdtemp(prefix="saisei-reads-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saisei.settings")

import django  # noqa: E402

django.setup()


def _arg(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def main() -> None:
    from django.db import connection

    from bench import scale
    from saisei.core.models import Organisation
    from saisei.journey.models import Patient
    from saisei.seed import org_slug

    repeat = int(_arg("--repeat", "30"))
    demo = Organisation.objects.get(slug="sakura")
    org = Organisation.objects.get(slug=org_slug(int(_arg("--seed", "13")), 1))
    size = Patient.objects.filter(organisation=org).count()
    at_demo = scale._measure_reads(scale._bench_user(demo, "bench-demo-reader"), demo, repeat)
    at_seed = scale._measure_reads(scale._bench_user(org, "bench-seed-reader"), org, repeat)
    print(f"busiest reads, {connection.vendor}, p95 over {repeat}: demo vs {size} patients")
    print(f"{'read':<36} {'demo':>9} {'seeded':>9} {'ratio':>6}  goal <= 100 ms, <= 3x")
    for name, ms in at_seed.items():
        base = at_demo.get(name)
        ratio = ms / base if base else float("nan")
        met = "yes" if ms <= 100 and (base is None or ratio <= 3) else "NO"
        print(f"{name:<36} {base or 0:8.1f}  {ms:8.1f}  x{ratio:4.1f}  {met}")


if __name__ == "__main__":
    main()
