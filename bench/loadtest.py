"""Load test: several web processes and a worker on PostgreSQL, a mixed API workload, 0 errors.

Run:  DATABASE_URL=postgres://postgres@127.0.0.1:5432/DB .venv/bin/python bench/loadtest.py \
          [--web-workers 3] [--task-workers 1] [--clients 8] [--seconds 30] [--warmup 10] [--prepare]

`--prepare` migrates the (empty) database and loads the demo; without it the database must hold
the demo already. The script starts `saisei serve --production` (gunicorn with --web-workers
processes) and --task-workers `saisei worker` processes, creates a bench user with a bearer
token, then runs --clients threads (plain `http.client`, one keep-alive-free connection per
request, like a browser behind a proxy) for --seconds, each picking requests from a fixed mix:
`/api/v1/me`, scan parse, reporting clock, compliance check, plan list, obligations list, the
audit ledger's first page, and a bedside verify that writes (a check and a ledger entry).
Prints throughput, p50/p95/p99 per request kind and overall, and every error (status >= 500, a
connection failure, or a status the request kind does not expect). Exits 1 on any error.
The first --warmup seconds run the same mix untimed (each web process's first requests
import and compile; that is start-up, not load); errors in them still count.
Timings live here, never in tests.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SAISEI_DATA_DIR", tempfile.mkdtemp(prefix="saisei-load-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saisei.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402


def _arg(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


WEB_WORKERS = int(_arg("--web-workers", "3"))
TASK_WORKERS = int(_arg("--task-workers", "1"))
CLIENTS = int(_arg("--clients", "8"))
SECONDS = float(_arg("--seconds", "30"))
# Every web process imports its views and compiles its queries on its first requests; those
# seconds are start-up, not load. Their timings are dropped, their errors still count.
WARMUP = float(_arg("--warmup", "10"))

SERVER_ENV = {
    "SAISEI_PRODUCTION": "1",
    "SECRET_KEY": "bench-only-secret-key-not-for-deployment-0123456789",
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "0",
}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    saisei = Path(sys.executable).parent / "saisei"
    # Own session each, so stopping one stops its children (gunicorn's workers) too.
    return subprocess.Popen(
        [str(saisei), *args],
        env={**os.environ, **SERVER_ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def _wait_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("saisei serve --production exited; run it by hand to see why")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the server did not answer /healthz within 300 s")


def _mix(raw: str) -> list[tuple[str, str, str, Any, tuple[int, ...]]]:
    """(kind, method, path, body, expected statuses) for the demo's data."""
    from bench import scale
    from saisei.core.models import User

    user = User.objects.get(username="bench-load")
    hot = {name: (method, path, body) for name, method, path, body in scale._hot_targets(user, raw)}
    mix: list[tuple[str, str, str, Any, tuple[int, ...]]] = []
    for name, (method, path, body) in hot.items():
        # A bedside check of a dose already checked or given may be refused (409/422): a
        # correct answer, not an error.
        ok = (200, 201, 409, 422) if "bedside" in name else (200,)
        mix.append((name, method, path, body, ok))
    for path in ("/api/v1/regulatory/plans", "/api/v1/regulatory/obligations", "/api/v1/audit"):
        mix.append((f"GET {path}", "GET", path, None, (200,)))
    return mix


def _client(
    port: int,
    raw: str,
    mix: list[tuple[str, str, str, Any, tuple[int, ...]]],
    until: float,
    out: dict[str, list[float]],
    errors: list[str],
    lock: threading.Lock,
    seed: int,
) -> None:
    rnd = random.Random(seed)
    local: dict[str, list[float]] = defaultdict(list)
    local_errors: list[str] = []
    headers = {"Authorization": f"Bearer {raw}", "Content-Type": "application/json"}
    while time.time() < until:
        kind, method, path, body, ok = rnd.choice(mix)
        started = time.perf_counter()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request(method, path, json.dumps(body) if body is not None else None, headers)
            resp = conn.getresponse()
            resp.read()
            conn.close()
            if resp.status not in ok:
                local_errors.append(f"{kind}: HTTP {resp.status}")
        except OSError as exc:
            local_errors.append(f"{kind}: {exc!r}")
        local[kind].append((time.perf_counter() - started) * 1000)
    with lock:
        for kind, values in local.items():
            out[kind].extend(values)
        errors.extend(local_errors)


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database (the load test is for production).")
    from bench import scale
    from saisei.core.demo import load_demo
    from saisei.core.models import Organisation, User

    if "--prepare" in sys.argv:
        call_command("migrate", verbosity=0)
        load_demo(stdout=io.StringIO())
    org = Organisation.objects.get(slug="sakura")
    scale._bench_user(org, "bench-load")
    raw = scale._token(User.objects.get(username="bench-load"))
    mix = _mix(raw)

    port = _free_port()
    web = _start(
        ["serve", "--production", "--workers", str(WEB_WORKERS), "--bind", f"127.0.0.1:{port}"]
    )
    workers = [_start(["worker"]) for _ in range(TASK_WORKERS)]
    try:
        _wait_up(port, web)
        print(
            f"load test: {WEB_WORKERS} web processes, {TASK_WORKERS} task workers, "
            f"{CLIENTS} clients, {SECONDS:.0f} s after {WARMUP:.0f} s of warm-up, PostgreSQL"
        )
        errors: list[str] = []
        lock = threading.Lock()

        def run(seconds: float, out: dict[str, list[float]]) -> float:
            until = time.time() + seconds
            threads = [
                threading.Thread(
                    target=_client,
                    args=(port, raw, mix, until, out, errors, lock, n),
                    daemon=True,
                )
                for n in range(CLIENTS)
            ]
            started = time.time()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return time.time() - started

        if WARMUP > 0:
            run(WARMUP, defaultdict(list))
        out: dict[str, list[float]] = defaultdict(list)
        took = run(SECONDS, out)
        dead = [p for p in [web, *workers] if p.poll() is not None]
    finally:
        for proc in [web, *workers]:
            _stop(proc)
    everything = [v for values in out.values() for v in values]
    print(f"\n{'request':<45} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for kind in sorted(out):
        v = out[kind]
        print(
            f"{kind:<45} {len(v):>6} {statistics.median(v):>8.1f} "
            f"{_pct(v, 0.95):>8.1f} {_pct(v, 0.99):>8.1f}"
        )
    print(
        f"{'all':<45} {len(everything):>6} {statistics.median(everything):>8.1f} "
        f"{_pct(everything, 0.95):>8.1f} {_pct(everything, 0.99):>8.1f}"
    )
    print(f"\nthroughput: {len(everything) / took:.1f} req/s; errors: {len(errors)}")
    for line in sorted(set(errors))[:20]:
        print(f"  error: {line} (x{errors.count(line)})")
    if dead:
        print("  error: a server or worker process exited during the run")
    if errors or dead:
        sys.exit(1)


if __name__ == "__main__":
    main()
