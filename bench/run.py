"""Benchmarks: speed figures for the hot paths, on a fresh demo database, then on a seeded one.

Run:  .venv/bin/python bench/run.py [--quick] [--seed-patients N] [--no-http] [--results FILE]
      (DATABASE_URL=postgres://... to run on PostgreSQL; the database must be empty)
Prints one line per micro-benchmark (operations per second, median of repeats; SQL queries per
request for endpoints), then a table of ratios with their goals (issue 13): hot endpoints under
`saisei serve --production` (2 gunicorn workers) against a bare Django JSON view, busiest reads
at the seeded size against demo size, the itinerary planner, and audit appends with 8
concurrent writers (PostgreSQL only). Timings live here, never in tests.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SAISEI_DATA_DIR", tempfile.mkdtemp(prefix="saisei-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saisei.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

QUICK = "--quick" in sys.argv


def _arg(name: str, default: str) -> str:
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


SEED_PATIENTS = int(_arg("--seed-patients", "50" if QUICK else "1000"))
HTTP = "--no-http" not in sys.argv
RESULTS_FILE = _arg("--results", "")
GOALS: list[tuple[str, str, str, bool | None]] = []  # (measure, value, goal, met)


def goal(measure: str, value: str, target: str, met: bool | None) -> None:
    GOALS.append((measure, value, target, met))


def bench(name: str, fn: Callable[[], object], *, number: int = 200, repeat: int = 5) -> None:
    if QUICK:
        number, repeat = max(1, number // 10), 2
    fn()
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        rates.append(number / (time.perf_counter() - start))
    print(f"{name:<55} {statistics.median(rates):>10.1f} ops/s")


def bench_endpoint(
    name: str, client: Client, url: str, headers: dict[str, str], *, number: int = 50
) -> None:
    with CaptureQueriesContext(connection) as ctx:
        resp = client.get(url, headers=headers)
    assert resp.status_code == 200, (url, resp.status_code, resp.content[:300])
    bench(
        f"{name} [{len(ctx.captured_queries)} queries]",
        lambda: client.get(url, headers=headers),
        number=number,
    )


def main() -> None:
    from saisei.core.audit import audit_record
    from saisei.core.demo import load_demo
    from saisei.core.models import Organisation, User
    from saisei.core.services import token_create
    from saisei.journey.itinerary import ClinicCalendar, ItineraryRequest, plan_itinerary
    from saisei.processing.expansion import forecast
    from saisei.processing.isbt128 import build_din, parse_scan
    from saisei.regulatory.rules import reporting_clock

    call_command("migrate", verbosity=0)
    load_demo(stdout=io.StringIO())
    org = Organisation.objects.get(slug="sakura")

    din = build_din(facility_id="W0000", year=26, sequence=123456, check_flags=True)
    scan = din.barcode_data
    bench("isbt128.parse_scan (one DIN)", lambda: parse_scan(scan))
    bench(
        "regulatory.reporting_clock (serious)",
        lambda: reporting_clock(
            seriousness="hospitalisation",
            aware_date=dt.date(2026, 11, 27),
            plan_submitted_date=dt.date(2025, 4, 1),
        ),
    )
    bench(
        "processing.expansion forecast (2 g -> 4e8 cells)",
        lambda: forecast(tissue_g=2.0, target_cells=400_000_000, start_date=dt.date(2026, 12, 1)),
        number=50,
    )
    cal = ClinicCalendar()
    req = ItineraryRequest(
        earliest_arrival=dt.date(2027, 1, 10),
        latest_return=dt.date(2027, 7, 10),
        infusions=3,
        interval_days=28,
        max_stay_days=90,
        culture_days=35,
    )
    bench(
        "journey.plan_itinerary (3 infusions, 6 months)",
        lambda: plan_itinerary(request=req, calendar=cal),
        number=5,
        repeat=3,
    )
    req5 = ItineraryRequest(
        earliest_arrival=dt.date(2027, 1, 10),
        latest_return=dt.date(2027, 7, 10),
        infusions=5,
        interval_days=28,
        max_stay_days=90,
        culture_days=35,
    )
    times = []
    for _ in range(3 if QUICK else 15):
        start = time.perf_counter()
        plan_itinerary(request=req5, calendar=cal)
        times.append((time.perf_counter() - start) * 1000)
    planner_ms = statistics.median(times)
    print(f"{'journey.plan_itinerary (5 infusions, 6 months)':<55} {planner_ms:>10.1f} ms")
    goal(
        "itinerary planner, 5 infusions / 6 months (median)",
        f"{planner_ms:.1f} ms",
        "< 10 ms",
        planner_ms < 10,
    )
    bench(
        "core.audit_record (append to chain)",
        lambda: audit_record(
            actor=None, organisation=org, action="bench.append", subject=("bench", "1")
        ),
        number=100,
    )

    user = User.objects.get(username="compliance_officer")
    _, raw = token_create(actor=None, user=user, label="bench")
    headers = {"Authorization": f"Bearer {raw}"}
    client = Client()
    reset_queries()
    for name, url in [
        ("GET /api/v1/audit?limit=50", "/api/v1/audit?limit=50"),
        ("GET /api/v1/regulatory/plans", "/api/v1/regulatory/plans"),
        ("GET /api/v1/regulatory/obligations", "/api/v1/regulatory/obligations"),
    ]:
        try:
            bench_endpoint(name, client, url, headers)
        except AssertionError as exc:
            print(f"{name:<55} skipped: {exc}")

    from bench import scale

    scale.run(
        quick=QUICK,
        seed_patients=SEED_PATIENTS,
        http=HTTP,
        goal=goal,
        demo_user=user,
    )
    print_table()
    if RESULTS_FILE:
        scale.write_results(Path(RESULTS_FILE), GOALS, seed_patients=SEED_PATIENTS)


def print_table() -> None:
    print()
    print(f"{'measure':<62} {'value':>22} {'goal':>22}  met")
    for measure, value, target, met in GOALS:
        mark = "yes" if met else "NO" if met is not None else "-"
        print(f"{measure:<62} {value:>22} {target:>22}  {mark}")


if __name__ == "__main__":
    main()
