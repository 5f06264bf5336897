"""Backups that restore: taken while another process writes, restored into an empty installation,
verified against the manifest; damaged archives and non-empty targets are refused.

Each installation is a real one (its own data directory and database) run as a subprocess, as an
operator would run ``saisei backup`` and ``saisei restore``. On SQLite always; on PostgreSQL when
the suite runs on PostgreSQL (fresh databases are created and dropped).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

WRITER = """
import sys, django
django.setup()
from saisei.core.audit import audit_record
from saisei.core.models import Organisation
from saisei.core import services
org = Organisation.objects.filter(slug="bk").first() or services.organisation_create(
    actor=None, name="Backup clinic", slug="bk", kind="clinic_group")
for i in range(int(sys.argv[1])):
    audit_record(actor=None, organisation=org, action="test.write", subject=("test", str(i)))
"""


# The operator carries the ledger key to the new installation apart from the archive.
LEDGER_KEY = "backup-test-ledger-key-0123456789abcdef0123"


def _env(data_dir: Path, database_url: str | None, key: str | None = LEDGER_KEY) -> dict[str, str]:
    env = {
        **os.environ,
        "SAISEI_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "saisei.settings",
    }
    env.pop("SAISEI_LEDGER_KEY", None)
    if key:
        env["SAISEI_LEDGER_KEY"] = key
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def _saisei(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "saisei.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _write(env: dict[str, str], n: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(n)], env=env, text=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def installations(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[dict, dict]]:
    """Two empty installations (source and target) on the engine under test."""
    if request.param == "sqlite":
        yield _env(tmp_path / "a", None), _env(tmp_path / "b", None)
        return
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        pytest.skip("the PostgreSQL backup runs when the suite runs on PostgreSQL (.ci/run)")
    import psycopg

    root = base.rsplit("/", 1)[0]
    names = [f"saisei_bk_{uuid.uuid4().hex[:10]}" for _ in range(2)]
    with psycopg.connect(f"{root}/postgres", autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            _env(tmp_path / "a", f"{root}/{names[0]}"),
            _env(tmp_path / "b", f"{root}/{names[1]}"),
        )
    finally:
        with psycopg.connect(f"{root}/postgres", autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _populate(env: dict[str, str]) -> None:
    assert _saisei(env, "migrate", "--verbosity", "0").returncode == 0
    writer = _write(env, 20)
    assert writer.wait(timeout=120) == 0
    media = Path(env["SAISEI_DATA_DIR"]) / "media" / "inquiries"
    media.mkdir(parents=True, exist_ok=True)
    (media / "records.pdf").write_bytes(b"%PDF-1.4 family records\n")


def test_a_backup_taken_under_writes_restores_and_verifies(
    installations: tuple[dict, dict], tmp_path: Path
) -> None:
    source, target = installations
    _populate(source)
    archive = tmp_path / "saisei.tar.gz"
    writer = _write(source, 300)  # keeps appending to the ledger while the backup runs
    done = _saisei(source, "backup", str(archive))
    assert writer.wait(timeout=180) == 0
    assert done.returncode == 0, done.stderr
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest["members"]["media/inquiries/records.pdf"]
    assert manifest["chain_heads"], "the manifest records the ledger chain heads"

    restored = _saisei(target, "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    assert "Restored and verified" in restored.stdout
    assert _saisei(target, "audit", "verify").returncode == 0
    media = Path(target["SAISEI_DATA_DIR"]) / "media" / "inquiries" / "records.pdf"
    assert media.read_bytes() == b"%PDF-1.4 family records\n"
    # Nothing lost: every entry the manifest counted is there (the writer's later ones are not).
    entries = manifest["counts"]["core_auditentry"]
    assert 20 < entries <= 321

    # A second restore over the now non-empty installation is refused without --force.
    again = _saisei(target, "restore", str(archive))
    assert again.returncode != 0 and "not empty" in again.stderr
    forced = _saisei(target, "restore", "--force", str(archive))
    assert forced.returncode == 0, forced.stderr


def test_a_damaged_archive_is_refused_before_anything_changes(tmp_path: Path) -> None:
    source, target = _env(tmp_path / "a", None), _env(tmp_path / "b", None)
    _populate(source)
    archive = tmp_path / "saisei.tar.gz"
    assert _saisei(source, "backup", str(archive)).returncode == 0
    assert _saisei(source, "backup", str(archive)).returncode != 0  # never overwrites

    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.startswith("media/"):
                data = data.replace(b"family", b"forged")
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    refused = _saisei(target, "restore", str(damaged))
    assert refused.returncode != 0 and "Checksum mismatch" in refused.stderr
    assert not (Path(target["SAISEI_DATA_DIR"]) / "media" / "inquiries").exists()

    not_a_backup = tmp_path / "nonsense.tar.gz"
    not_a_backup.write_bytes(b"hello")
    res = _saisei(target, "restore", str(not_a_backup))
    assert res.returncode != 0 and "not a readable Saisei backup" in res.stderr


def test_the_ledger_key_is_not_in_the_archive_and_a_restore_without_it_says_so(
    tmp_path: Path,
) -> None:
    # The source keeps its key in a key file under its data directory (demo default).
    source = _env(tmp_path / "a", None, key=None)
    _populate(source)
    key_file = tmp_path / "a" / "ledger.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    archive = tmp_path / "saisei.tar.gz"
    assert _saisei(source, "backup", str(archive)).returncode == 0
    key = key_file.read_bytes().strip()
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            data = tar.extractfile(member)
            assert data is None or key not in data.read(), member.name

    # Restored elsewhere without the key: the ledger cannot be verified, and the restore says why.
    no_key = _saisei(_env(tmp_path / "b", None, key=None), "restore", str(archive))
    assert no_key.returncode != 0
    assert "ledger key" in no_key.stderr
    # With the key brought over separately, the same archive restores and verifies.
    with_key = _env(tmp_path / "c", None, key=key.decode())
    restored = _saisei(with_key, "restore", str(archive))
    assert restored.returncode == 0, restored.stderr


def test_restoring_an_older_backup_over_a_newer_database_is_detected(tmp_path: Path) -> None:
    clinic = _env(tmp_path / "a", None)
    _populate(clinic)
    older = tmp_path / "older.tar.gz"
    assert _saisei(clinic, "backup", str(older)).returncode == 0
    with tarfile.open(older) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    (then,) = [h["seq"] for h in manifest["chain_heads"].values()]
    assert _write(clinic, 5).wait(timeout=120) == 0  # five more entries after the backup
    anchored = _saisei(clinic, "audit", "anchor", "--no-email")
    assert anchored.returncode == 0, anchored.stderr

    # The attack: put yesterday's database back, so the last five entries never happened.
    res = _saisei(clinic, "restore", "--force", str(older))
    assert res.returncode != 0
    assert f"recorded #{then + 5}" in res.stderr and "older backup was restored" in res.stderr
    verify = _saisei(clinic, "audit", "verify")
    assert verify.returncode == 1
    assert f"the chain ends at #{then}" in verify.stderr
