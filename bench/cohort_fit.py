"""The cohort model (mixed-effects slope, outcomes.cohort.fit_cohort) on synthetic patients.

Run:  .venv/bin/python bench/cohort_fit.py [--sizes 1000,10000,100000]
Each patient has a baseline and about 10 scores over 12 months (CDR-SB-like: 0-18, a true slope
of 1.2 points a year with between-patient spread and noise). Prints, per size, the rows and the
wall time of fit_cohort and the method it ended with (issue 13 goal: 100,000 patients < 30 s).
Only the fit is timed: reading the rows from the database is the busiest-reads bench's business.
Timings live here, never in tests.
"""

from __future__ import annotations

import os
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

import numpy as np  # noqa: E402


def synthetic_rows(patients: int, seed: int = 13) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    visits = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12], dtype=float)
    base = rng.normal(4.0, 1.5, patients)
    slope = rng.normal(1.2, 0.6, patients)
    rows: list[dict[str, object]] = []
    for p in range(patients):
        code = f"SYN-{p:06d}"
        noise = rng.normal(0.0, 0.5, len(visits))
        scores = np.clip(base[p] + slope[p] * visits / 12.0 + noise, 0, 18)
        rows.extend(
            {"patient": code, "months": float(m), "score": float(s)}
            for m, s in zip(visits, scores, strict=True)
        )
    return rows


def main() -> None:
    from saisei.outcomes.cohort import fit_cohort

    sizes = [
        int(s)
        for s in (
            sys.argv[sys.argv.index("--sizes") + 1]
            if "--sizes" in sys.argv
            else "1000,10000,100000"
        ).split(",")
    ]
    print(f"{'patients':>9} {'rows':>10} {'fit s':>8}  method   slope/yr [CI]")
    for n in sizes:
        rows = synthetic_rows(n)
        start = time.perf_counter()
        fit = fit_cohort(rows=rows)
        took = time.perf_counter() - start
        print(
            f"{n:>9} {len(rows):>10} {took:>8.1f}  {fit.method}  "
            f"{fit.slope_per_year} [{fit.ci_low}, {fit.ci_high}]",
            flush=True,
        )


if __name__ == "__main__":
    main()
