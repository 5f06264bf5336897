"""Production mode refuses to start without a secret key or allowed hosts; demo mode keeps a key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _load_settings(tmp_path, **env):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "ALLOWED_HOSTS", "SAISEI_PRODUCTION")
    }
    base.update({"SAISEI_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT), **env})
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import saisei.settings as s; print(s.SECRET_KEY[:4], s.ALLOWED_HOSTS)",
        ],
        env=base,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )


def test_production_without_secret_key_is_a_clear_error(tmp_path):
    res = _load_settings(tmp_path, SAISEI_PRODUCTION="1", ALLOWED_HOSTS="saisei.example.jp")
    assert res.returncode != 0
    assert "SECRET_KEY is not set" in res.stderr


def test_production_without_allowed_hosts_is_a_clear_error(tmp_path):
    res = _load_settings(tmp_path, SAISEI_PRODUCTION="1", SECRET_KEY="x" * 50)
    assert res.returncode != 0
    assert "ALLOWED_HOSTS is not set" in res.stderr


def test_production_with_both_starts(tmp_path):
    res = _load_settings(
        tmp_path, SAISEI_PRODUCTION="1", SECRET_KEY="k" * 50, ALLOWED_HOSTS="a.example"
    )
    assert res.returncode == 0, res.stderr
    assert "kkkk ['a.example']" in res.stdout


def test_demo_key_is_generated_once_and_kept(tmp_path):
    first = _load_settings(tmp_path)
    second = _load_settings(tmp_path)
    assert first.returncode == 0 and first.stdout == second.stdout
    assert (tmp_path / "secret_key").exists()
