"""Scale benchmarks for bench/run.py (issue 13): ratios measured in one run, with their goals.

- hot endpoints under `saisei serve --production` (2 gunicorn workers) against a bare Django JSON
  view routed only when SAISEI_BENCH_BARE_VIEW=1, same middleware, same server;
- busiest reads p95 at the seeded size against the same read at demo size (in-process client);
- audit appends with 8 concurrent writers in one organisation (PostgreSQL only).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import multiprocessing
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection
from django.test import Client
from django.utils import timezone

GoalFn = Callable[[str, str, str, "bool | None"], None]
BENCH_ROLES = ["coordinator", "physician", "nurse", "cpc_technician", "compliance_officer"]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _bench_user(org: Any, name: str) -> Any:
    from saisei.core.models import User
    from saisei.core.services import user_create

    user = User.objects.filter(username=name).first()
    return user or user_create(
        actor=None,
        organisation=org,
        username=name,
        password="bench-only-password-2026",
        roles=BENCH_ROLES,
        validate=False,
    )


def _token(user: Any) -> str:
    from saisei.core.services import token_create

    return token_create(actor=None, user=user, label="bench")[1]


# --- busiest reads -------------------------------------------------------------------------------


def _read_urls(org: Any) -> list[tuple[str, str]]:
    """(name, url) of the busiest reads for one organisation, first and last pages of lists."""
    from saisei.journey.models import Patient
    from saisei.processing.models import Dose
    from saisei.regulatory.models import ProvisionPlan

    patient = (
        Patient.objects.filter(organisation=org, administrations__isnull=False)
        .order_by("pk")
        .first()
    ) or Patient.objects.filter(organisation=org).order_by("pk").first()
    plan = ProvisionPlan.objects.filter(organisation=org, status="in_force").order_by("pk").first()
    del Dose
    urls: list[tuple[str, str]] = []
    for name, path in [
        ("patients", "/api/v1/journey/patients"),
        ("doses", "/api/v1/processing/doses"),
        ("assessments", "/api/v1/outcomes/assessments"),
        ("inquiries", "/api/v1/journey/inquiries"),
        ("administrations", "/api/v1/treatment/administrations"),
        ("adverse events", "/api/v1/safety/events"),
    ]:
        urls.append((f"{name} list", f"{path}?limit=50"))
        urls.append((f"{name} last page", f"{path}?limit=50&after=LAST:{name}"))
        urls.append((f"{name} deepest offset", f"{path}?limit=50&offset=DEEP"))
    if patient is not None:
        urls.append(("patient detail", f"/api/v1/journey/patients/{patient.external_id}"))
        urls.append(
            ("trajectories", f"/api/v1/outcomes/patients/{patient.external_id}/trajectories")
        )
    if plan is not None:
        urls.append(("plan detail", f"/api/v1/regulatory/plans/{plan.external_id}"))
    urls += [
        ("compliance dashboard (page)", "/regulatory/"),
        ("CPC board (page)", "/processing/"),
        ("today's infusions (page)", "/treatment/"),
    ]
    return urls


def _last_page_cursor(name: str, user: Any, size: int) -> str:
    """The cursor whose page is the list's last: the key values of the row `size + 1` from
    the end, read backwards on the list's own order (what a client walking `next` reaches)."""
    from saisei.core import keyset
    from saisei.journey import selectors as journey
    from saisei.outcomes import selectors as outcomes
    from saisei.processing import selectors as processing
    from saisei.safety import selectors as safety
    from saisei.treatment import selectors as treatment

    qs = {
        "patients": lambda: journey.patient_list(actor=user),
        "doses": lambda: processing.dose_list(actor=user),
        "assessments": lambda: outcomes.assessment_list(actor=user),
        "inquiries": lambda: journey.inquiry_list(actor=user, file_counts=True),
        "administrations": lambda: treatment.administration_list(actor=user),
        "adverse events": lambda: safety.adverse_event_list(actor=user),
    }[name]()
    keys = keyset.keys_of(qs)
    backwards = keyset.ordered(qs, keys).reverse().values_list("pk", flat=True)
    row = list(backwards[size : size + 1])
    return keyset.encode(keyset.values_of(qs, keys, row[0])) if row else ""


def _measure_reads(user: Any, org: Any, repeat: int) -> dict[str, float]:
    client = Client()
    client.force_login(user)
    headers = {"Authorization": f"Bearer {_token(user)}"}
    out: dict[str, float] = {}
    for name, template in _read_urls(org):
        url = template
        if "offset=DEEP" in url:  # the deepest page an offset reaches (COUNT_CAP rows)
            first = client.get(url.replace("&offset=DEEP", ""), headers=headers)
            count = first.json().get("count", 0) if first.status_code == 200 else 0
            url = url.replace("DEEP", str(max(0, count - 50)))
        if "after=LAST:" in url:
            base, _, list_name = url.partition("after=LAST:")
            url = base + "after=" + _last_page_cursor(list_name, user, 50)
        api = url.startswith("/api/")
        resp = client.get(url, headers=headers) if api else client.get(url)
        if resp.status_code != 200:
            print(f"  read {name}: HTTP {resp.status_code}, skipped")
            continue
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            client.get(url, headers=headers) if api else client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        out[name] = p95(times)
    return out


# --- hot endpoints over HTTP ---------------------------------------------------------------------


def _load_worker(
    args: tuple[int, str, str, str, dict[str, str], float],
) -> tuple[int, int, list[float]]:
    port, method, path, body, headers, seconds = args
    ok = errors = 0
    latencies: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200:
                ok += 1
            else:
                errors += 1
        except OSError:
            errors += 1
        finally:
            conn.close()
        latencies.append((time.perf_counter() - start) * 1000)
    return ok, errors, latencies


def _load(
    port: int,
    method: str,
    path: str,
    body: str,
    headers: dict[str, str],
    *,
    clients: int,
    seconds: float,
) -> dict[str, float]:
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(clients) as pool:
        results = pool.map(_load_worker, [(port, method, path, body, headers, seconds)] * clients)
    ok = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    latencies = [x for r in results for x in r[2]]
    return {
        "rps": ok / seconds,
        "errors": errors,
        "p50": statistics.median(latencies) if latencies else 0.0,
        "p95": p95(latencies) if latencies else 0.0,
    }


def _serve(port: int) -> subprocess.Popen[bytes]:
    saisei = Path(sys.executable).parent / "saisei"
    env = {
        **os.environ,
        "SAISEI_PRODUCTION": "1",
        "SECRET_KEY": "bench-only-secret-key-not-for-deployment-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SAISEI_BENCH_BARE_VIEW": "1",
    }
    # Its own session, so stopping it stops gunicorn's master and workers too.
    proc = subprocess.Popen(
        [str(saisei), "serve", "--production", "--workers", "2", "--bind", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/bench/bare")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.5)
    _stop(proc)
    raise RuntimeError("gunicorn did not answer /bench/bare within 300 s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=60)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bag_at_the_bedside(user: Any) -> Any:
    """A bag ready at the bedside: thawed and within its use-by time. The first released bag is
    thawed now (through the service, as the CPC would) when none is, so the verification the
    bench repeats is the everyday one that passes, not a near miss recorded on every call."""
    from saisei.processing.models import Dose
    from saisei.processing.services import dose_thaw

    doses = Dose.objects.filter(organisation=user.organisation).select_related(
        "lot__donation__course__plan__institution", "patient"
    )
    ready = doses.filter(status="thawed", use_by__gt=timezone.now() + dt.timedelta(minutes=30))
    dose = ready.order_by("pk").first()
    if dose is not None:
        return dose
    released = doses.filter(status="released").order_by("pk").first()
    if released is None:
        return None
    from saisei.core.models import User
    from saisei.processing.permissions import can_thaw_dose

    thawer = next(
        (u for u in User.objects.filter(organisation=user.organisation) if can_thaw_dose(u)), None
    )
    if thawer is None:
        return None
    dose_thaw(actor=thawer, dose=released, viability_pct=92.0, thawed_at=timezone.now())
    return ready.order_by("pk").first()


def _hot_targets(user: Any, raw_token: str) -> list[tuple[str, str, str, dict[str, Any] | None]]:
    """(name, method, path, payload) for the hot endpoints, on the user's own seeded data."""
    from saisei.journey.models import CourseStep
    from saisei.processing.isbt128 import build_din
    from saisei.processing.models import LabelPrint
    from saisei.regulatory.models import Physician

    org = user.organisation
    targets: list[tuple[str, str, str, dict[str, Any] | None]] = [
        ("GET /api/v1/me", "GET", "/api/v1/me", None),
    ]
    din = build_din(facility_id="A9999", year=26, sequence=123456, check_flags=True)
    targets.append(
        ("POST /api/v1/scans/parse", "POST", "/api/v1/scans/parse", {"data": din.barcode_data})
    )
    targets.append(
        (
            "POST /api/v1/regulatory/reporting-clock",
            "POST",
            "/api/v1/regulatory/reporting-clock",
            {
                "seriousness": "hospitalisation",
                "aware_date": "2026-11-27",
                "plan_submitted_date": "2025-04-01",
            },
        )
    )
    dose = _bag_at_the_bedside(user)
    if dose is None:
        return targets
    course = dose.lot.donation.course
    step = CourseStep.objects.get(course=course, kind="infusion", number=dose.sequence)
    plan = course.plan
    physician = Physician.objects.get(organisation=org)
    targets.append(
        (
            "POST /api/v1/compliance/check",
            "POST",
            "/api/v1/compliance/check",
            {
                "act": "administration",
                "institution_id": str(plan.institution.external_id),
                "physician_id": str(physician.external_id),
                "patient_id": str(dose.patient.external_id),
                "plan_id": str(plan.external_id),
                "at": timezone.now().isoformat(),
                "dose_id": str(dose.external_id),
                "administration_number": dose.sequence,
            },
        )
    )
    label = LabelPrint.objects.filter(dose=dose).first()
    if label is not None:
        targets.append(
            (
                "POST /api/v1/bedside/verify",
                "POST",
                "/api/v1/bedside/verify",
                {
                    "patient_scan": dose.patient.patient_code,
                    "product_scans": [label.content["datamatrix"]],
                    "course_step": str(step.external_id),
                    "route": "iv",
                },
            )
        )
    return targets


WRITE_ENDPOINTS = ("POST /api/v1/bedside/verify",)
"""Hot endpoints that write (a verification record and its ledger entry): also compared with
the bare audited write, since no write can approach half a view that does nothing."""


def _http(user: Any, goal: GoalFn, *, quick: bool, results: dict[str, Any]) -> None:
    raw = _token(user)
    targets = _hot_targets(user, raw)
    client = Client()
    headers = {"Authorization": f"Bearer {raw}"}
    usable = []
    for name, method, path, payload in targets:
        if method == "GET":
            resp = client.get(path, headers=headers)
        else:
            resp = client.post(
                path, data=json.dumps(payload), content_type="application/json", headers=headers
            )
        if resp.status_code != 200:
            print(f"  {name}: HTTP {resp.status_code} in-process, left out: {resp.content[:200]!r}")
            continue
        usable.append((name, method, path, payload))
    connection.close()  # the forked load clients must not share this connection
    port = _free_port()
    seconds = 1.5 if quick else 6.0
    clients = 4
    proc = _serve(port)
    try:
        bare = _load(port, "GET", "/bench/bare", "", {}, clients=clients, seconds=seconds)
        results["bare"] = bare
        print(
            f"  bare JSON view: {bare['rps']:.0f} req/s, p50 {bare['p50']:.1f} ms, "
            f"p95 {bare['p95']:.1f} ms, {bare['errors']} errors"
        )
        # An audited write's floor: the bare view plus one ledger append under the chain lock.
        floor_write = _load(
            port, "GET", "/bench/bare-write", "", {}, clients=clients, seconds=seconds
        )
        results["bare write"] = floor_write
        print(
            f"  bare audited write: {floor_write['rps']:.0f} req/s, p50 {floor_write['p50']:.1f} ms, "
            f"p95 {floor_write['p95']:.1f} ms, {floor_write['errors']} errors"
        )
        for name, method, path, payload in usable:
            hdrs = {"Authorization": f"Bearer {raw}", "Content-Type": "application/json"}
            body = json.dumps(payload) if payload is not None else ""
            r = _load(port, method, path, body, hdrs, clients=clients, seconds=seconds)
            ratio = r["rps"] / bare["rps"] if bare["rps"] else 0.0
            results[name] = {**r, "ratio": ratio}
            print(
                f"  {name}: {r['rps']:.0f} req/s, p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, "
                f"{r['errors']} errors, ratio {ratio:.2f}"
            )
            goal(
                f"{name} / bare view (req/s ratio)",
                f"{ratio:.2f} ({r['rps']:.0f}/{bare['rps']:.0f})",
                ">= 0.5",
                ratio >= 0.5 and r["errors"] == 0,
            )
            if name in WRITE_ENDPOINTS and floor_write["rps"]:
                w = r["rps"] / floor_write["rps"]
                goal(
                    f"{name} / bare audited write (req/s ratio)",
                    f"{w:.2f} ({r['rps']:.0f}/{floor_write['rps']:.0f})",
                    "report",
                    None,
                )
    finally:
        _stop(proc)


# --- audit appends, 8 writers ----------------------------------------------------------------------


def _audit_concurrency(org: Any, goal: GoalFn, *, quick: bool) -> None:
    from django.db import connections

    from saisei.core.audit import audit_record, audit_verify

    if connection.vendor != "postgresql":
        print("  audit appends with 8 writers: PostgreSQL only (SQLite has one writer), skipped")
        goal("audit appends, 8 concurrent writers", "n/a on SQLite", "report appends/s, p95", None)
        return
    per_writer = 10 if quick else 100
    waits: list[float] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        mine = []
        for i in range(per_writer):
            start = time.perf_counter()
            audit_record(
                actor=None, organisation=org, action="bench.append", subject=("bench", f"{n}-{i}")
            )
            mine.append((time.perf_counter() - start) * 1000)
        with lock:
            waits.extend(mine)
        connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    rate = len(waits) / elapsed
    problems = audit_verify(organisation=org)
    print(
        f"  audit appends, 8 writers: {rate:.0f} appends/s, p50 {statistics.median(waits):.1f} ms, "
        f"p95 {p95(waits):.1f} ms, chain {'intact' if not problems else 'BROKEN'}"
    )
    goal(
        "audit appends, 8 concurrent writers, one organisation",
        f"{rate:.0f}/s, p95 {p95(waits):.1f} ms",
        "report; chain intact",
        not problems,
    )


# --- the whole scale run ---------------------------------------------------------------------------


def run(*, quick: bool, seed_patients: int, http: bool, goal: GoalFn, demo_user: Any) -> None:
    from saisei.core.models import Organisation
    from saisei.seed import org_slug, seed

    repeat = 5 if quick else 30
    demo_org = demo_user.organisation
    print(f"\nbusiest reads at demo size (p95 over {repeat} requests)")
    demo_reader = _bench_user(demo_org, "bench-demo-reader")
    at_demo = _measure_reads(demo_reader, demo_org, repeat)
    start = time.perf_counter()
    result = seed(patients=seed_patients, organisations=1, seed=13, progress=sys.stderr)
    took = time.perf_counter() - start
    print(
        f"\nseeded {result.patients_added} patients ({result.rows} rows, "
        f"{result.audit_entries} audit entries) in {took:.1f} s on {connection.vendor}"
    )
    goal(
        f"seed {seed_patients} patients ({connection.vendor})",
        f"{took:.0f} s",
        "minutes, not hours",
        took < 600,
    )
    org = Organisation.objects.get(slug=org_slug(13, 1))
    reader = _bench_user(org, "bench-seed-reader")
    print(f"busiest reads at {seed_patients} patients (p95 over {repeat} requests)")
    at_seed = _measure_reads(reader, org, repeat)
    for name, ms in at_seed.items():
        base = at_demo.get(name)
        ratio = ms / base if base else None
        print(f"  {name:<36} demo {base or 0:7.1f} ms   seeded {ms:7.1f} ms   x{ratio or 0:.1f}")
        goal(
            f"read p95 {name} @{seed_patients}",
            f"{ms:.0f} ms (x{ratio:.1f})" if ratio else f"{ms:.0f} ms",
            "<= 100 ms, <= 3x demo",
            ms <= 100 and (ratio is None or ratio <= 3),
        )
    if http:
        print("\nhot endpoints under saisei serve --production (2 workers), 4 clients")
        _http(reader, goal, quick=quick, results={})
    print("\naudit appends")
    _audit_concurrency(org, goal, quick=quick)


def write_results(
    path: Path, goals: list[tuple[str, str, str, bool | None]], *, seed_patients: int
) -> None:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    lines = [
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {os.cpu_count()} CPUs (nproc), {cpu}, {platform.system()} {platform.release()}",
        f"- load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}",
        f"- database: {connection.vendor}; seeded size: {seed_patients} patients in one organisation",
        "",
        "| measure | value | goal | met |",
        "|---|---|---|---|",
    ]
    for measure, value, target, met in goals:
        mark = "yes" if met else "**no**" if met is not None else "–"
        lines.append(f"| {measure} | {value} | {target} | {mark} |")
    path.write_text("\n".join(lines) + "\n")
