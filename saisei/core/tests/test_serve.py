"""`saisei serve --production` as an operator runs it: gunicorn, static files, probes, JSON logs,
and nothing left running after SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 10, **headers: str) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The parent id is the second field after the command name in parentheses.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_production_server_serves_and_stops_with_its_workers(tmp_path: Any) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "SAISEI_TESTING", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        SAISEI_DATA_DIR=str(tmp_path),
        SECRET_KEY="s" * 50,
        # Production refuses to start without the ledger key (system check saisei.E001).
        SAISEI_LEDGER_KEY="k" * 64,
        ALLOWED_HOSTS="127.0.0.1",
        PYTHONPATH=str(ROOT),
    )
    stderr = (tmp_path / "stderr.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "saisei.cli",
            "serve",
            "--production",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                status, headers, body = _get(f"{base}/health")
                break
            except OSError:
                assert proc.poll() is None, (tmp_path / "stderr.log").read_text()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.5)
        assert status == 200 and json.loads(body) == {"status": "ok"}
        assert headers["Cache-Control"] == "no-store"

        # The fresh database has no tables yet: alive, but not ready for traffic.
        status, _, body = _get(f"{base}/health/ready")
        assert status == 503
        assert json.loads(body)["checks"]["migrations"] is False

        # Static files come from gunicorn itself (WhiteNoise, collected at start), DEBUG off.
        https = {"X-Forwarded-Proto": "https"}
        status, headers, body = _get(f"{base}/static/saisei/saisei.js", **https)
        assert status == 200 and b"data-autosubmit" in body
        assert "no-store" not in headers.get("Cache-Control", "")
        assert (tmp_path / "static" / "saisei" / "saisei.js").exists()

        # An API answer through the whole stack: not stored, logged as JSON with its id.
        status, headers, _ = _get(
            # The first request in a worker loads every app's URLs: slow on a busy machine.
            f"{base}/api/v1/nothing-here",
            timeout=120,
            **https,
            **{"X-Request-ID": "probe-7"},
        )
        assert status == 404
        assert headers["Cache-Control"] == "no-store"

        workers = _children(proc.pid)
        assert len(workers) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        stderr.close()
    assert code == 0
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(w) for w in workers), "gunicorn workers outlived the server"

    log = [
        json.loads(line)
        for line in (tmp_path / "stderr.log").read_text().splitlines()
        if line.startswith("{")
    ]
    access = [x for x in log if x.get("logger") == "saisei.request"]
    assert any(
        x["request_id"] == "probe-7" and x["status"] == 404 and x["path"] == "/api/v1/nothing-here"
        for x in access
    ), log
