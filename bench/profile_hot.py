"""Profile the hot API endpoints in-process (cProfile), on a fresh demo database.

Run:  .venv/bin/python bench/profile_hot.py [--endpoint NAME] [--n 200] [--top 40] [--user nurse]
Prints, per endpoint, the time per request and the SQL queries it runs, then the cProfile top
(cumulative) for the chosen endpoint. Uses the production middleware stack
(SAISEI_PRODUCTION=1 with bench-only secrets) through Django's test client, so it shows the
stack's own work without the server. Timings live here, never in tests.
"""

from __future__ import annotations

import cProfile
import io
import logging
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SAISEI_DATA_DIR", tempfile.mkdtemp(prefix="saisei-profile-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saisei.settings")
os.environ.setdefault("SAISEI_PRODUCTION", "1")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-deployment-0123456789")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SAISEI_LEDGER_KEY", "bench-only-ledger-key-0123456789abcdef0123456789")
os.environ.setdefault("SAISEI_BENCH_BARE_VIEW", "1")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402


def _arg(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def main() -> None:
    import json

    from bench import scale
    from saisei.core.demo import load_demo
    from saisei.core.models import User

    call_command("migrate", verbosity=0)
    if not User.objects.filter(username="compliance_officer").exists():
        load_demo(stdout=io.StringIO())  # a kept SAISEI_DATA_DIR skips the slow demo load
    user = User.objects.get(username=_arg("--user", "compliance_officer"))
    raw = scale._token(user)
    targets = [("GET /bench/bare", "GET", "/bench/bare", None)]
    targets += scale._hot_targets(user, raw)
    logging.getLogger("saisei.request").setLevel(logging.WARNING)  # keep the output readable
    client = Client(enforce_csrf_checks=True)
    headers = {"Authorization": f"Bearer {raw}", "Host": "127.0.0.1"}
    n = int(_arg("--n", "100"))
    chosen = _arg("--endpoint", "")

    def call(method: str, path: str, payload: object) -> int:
        if method == "GET":
            r = client.get(path, headers=headers)
        else:
            r = client.post(
                path, json.dumps(payload), content_type="application/json", headers=headers
            )
        return r.status_code

    for name, method, path, payload in targets:
        sqls: list[str] = []

        def wrapper(execute, sql, params, many, context, sqls=sqls):  # type: ignore[no-untyped-def]
            sqls.append(sql)
            return execute(sql, params, many, context)

        # request_started resets connection.queries, so count with an execute wrapper instead.
        with connection.execute_wrapper(wrapper):
            status = call(method, path, payload)
        start = time.perf_counter()
        for _ in range(n):
            call(method, path, payload)
        per = (time.perf_counter() - start) / n * 1000
        print(f"{name:<45} {status} {per:7.2f} ms  {len(sqls)} queries")
        if "--sql" in sys.argv:
            for sql in sqls:
                print("     ", sql[:200])
        if chosen and chosen in name:
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(n):
                call(method, path, payload)
            prof.disable()
            out = io.StringIO()
            pstats.Stats(prof, stream=out).sort_stats(_arg("--sort", "cumulative")).print_stats(
                int(_arg("--top", "40"))
            )
            print(out.getvalue())


if __name__ == "__main__":
    main()
