"""The cohort page and API on a database that is already seeded, demo organisation beside.

Run:  DATABASE_URL=... .venv/bin/python bench/cohort_page.py [--seed 13] [--repeat 20]
The database must hold the demo (`saisei demo --no-serve`) and a seeded network (`saisei seed
--patients N --seed S`). For the plan with the most courses in each organisation it times the
worker's refresh of the stored summary (`outcomes.services.cohort_summary_refresh`, every
cohort measure; issue 13 goal: under 30 s at 100,000 patients), then the p95 of the page, its
last page of patients and the API reading that summary (goal: at once, taken as the busiest
reads' goal: <= 100 ms and <= 3x the demo), and a raw read of the stored row as the floor
measured in the same run. Timings live here, never in tests.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SAISEI_DATA_DIR", tempfile.mkdtemp(prefix="saisei-cohort-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saisei.settings")

import django  # noqa: E402

django.setup()


def _arg(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def _biggest_plan(org: Any) -> Any:
    from django.db.models import Count, Q

    from saisei.regulatory.models import ProvisionPlan

    return (
        ProvisionPlan.objects.filter(organisation=org)
        .annotate(n=Count("courses", filter=Q(courses__voided_at__isnull=True)))
        .order_by("-n", "pk")
        .first()
    )


def _p95_ms(run: Any, repeat: int) -> float:
    from bench.scale import p95

    run()  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return p95(times)


def _measure(org: Any, user_name: str, repeat: int) -> dict[str, Any]:
    from django.test import Client

    from bench.scale import _bench_user, _token
    from saisei.core.paging import COUNT_CAP
    from saisei.outcomes.analysis import COHORT_MEASURES
    from saisei.outcomes.models import CohortFitResult
    from saisei.outcomes.services import cohort_summary_refresh
    from saisei.outcomes.views import COHORT_PAGE_SIZE

    user = _bench_user(org, user_name)
    headers = {"Authorization": f"Bearer {_token(user)}"}  # ledger writes before the refresh
    client = Client()
    client.force_login(user)
    plan = _biggest_plan(org)
    out: dict[str, Any] = {"plan": plan.plan_number or plan.pk}
    refresh = {}
    for measure in COHORT_MEASURES:
        start = time.perf_counter()
        row = cohort_summary_refresh(plan_id=plan.pk, measure=measure)
        refresh[measure] = time.perf_counter() - start
        out["enrolled"] = row.n_enrolled
    out["refresh_s"] = refresh
    page = f"/outcomes/cohorts/{plan.external_id}/"
    last = min(COUNT_CAP, out["enrolled"]) // COHORT_PAGE_SIZE or 1
    reads = {
        "page": lambda: client.get(page),
        "last page of patients": lambda: client.get(f"{page}?page={last}"),
        "API": lambda: client.get(f"/api/v1/outcomes/cohorts/{plan.external_id}", headers=headers),
        "floor: the stored row": lambda: CohortFitResult.objects.filter(
            plan=plan, measure="CDR-SB"
        ).first(),
    }
    state = client.get(f"/api/v1/outcomes/cohorts/{plan.external_id}", headers=headers)
    out["state"] = state.json().get("state")
    out["reads"] = {name: _p95_ms(run, repeat) for name, run in reads.items()}
    return out


def main() -> None:
    from django.db import connection

    from saisei.core.models import Organisation
    from saisei.seed import org_slug

    repeat = int(_arg("--repeat", "20"))
    demo = _measure(Organisation.objects.get(slug="sakura"), "bench-demo-reader", repeat)
    seeded = _measure(
        Organisation.objects.get(slug=org_slug(int(_arg("--seed", "13")), 1)),
        "bench-seed-reader",
        repeat,
    )
    print(
        f"cohort page, {connection.vendor}: demo plan {demo['enrolled']} patients, "
        f"seeded plan {seeded['enrolled']} patients (state read: {seeded['state']})"
    )
    print("worker refresh per measure, s (goal < 30 s):")
    for measure, s in seeded["refresh_s"].items():
        print(
            f"  {measure:<16} demo {demo['refresh_s'][measure]:6.2f}   seeded {s:6.2f}  "
            f"{'yes' if s < 30 else 'NO'}"
        )
    floor = seeded["reads"]["floor: the stored row"]
    print(
        f"{'read, p95 ms':<28} {'demo':>8} {'seeded':>8} {'ratio':>6} {'x floor':>8}  "
        "goal <= 100 ms, <= 3x"
    )
    for name, ms in seeded["reads"].items():
        base = demo["reads"][name]
        ratio = ms / base if base else float("nan")
        met = "yes" if ms <= 100 and ratio <= 3 else "NO"
        print(f"{name:<28} {base:8.1f} {ms:8.1f}  x{ratio:4.1f} {ms / floor:8.1f}  {met}")


if __name__ == "__main__":
    main()
