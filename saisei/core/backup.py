"""Backups that restore: one archive with a consistent database snapshot, the uploads and a manifest.

A backup is safe while the service runs. On SQLite it copies the live database with SQLite's
online backup API (a consistent page-level snapshot); on PostgreSQL it opens a REPEATABLE READ
transaction, exports its snapshot and runs ``pg_dump --snapshot`` against it, so the dump, the
row counts and the audit-ledger chain heads in the manifest all describe the same instant.

The archive (a tar file, gzip-compressed) holds ``manifest.json``, ``database.sqlite3`` or
``database.pgdump``, and ``media/...``. The manifest lists every member with its SHA-256, the
row count of every table and the head (sequence and hash) of every organisation's ledger chain.

A restore refuses a database or data directory that is not empty unless forced, checks every
checksum before touching anything, restores, then verifies the ledger and compares the counts and
chain heads with the manifest: a restore that does not reproduce the backup says so and fails.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction

FORMAT = "saisei-backup/1"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
PG_MEMBER = "database.pgdump"
MEDIA_PREFIX = "media/"


class BackupError(Exception):
    """A backup or restore that cannot be done as asked; the message says why and what to do."""


@dataclass
class RestoreReport:
    counts_checked: int = 0
    entries_verified: int = 0
    problems: list[str] = field(default_factory=list)


def _tables() -> list[str]:
    """Every table Django manages (one per concrete model, plus many-to-many tables)."""
    names: set[str] = set()
    for model in apps.get_models(include_auto_created=True):
        if model._meta.managed and not model._meta.proxy:
            names.add(model._meta.db_table)
    return sorted(names)


def _is_sqlite() -> bool:
    return connection.vendor == "sqlite"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _chain_heads(rows: list[tuple[Any, ...]]) -> dict[str, dict[str, Any]]:
    return {str(org): {"seq": int(seq), "hash": str(hash_)} for org, seq, hash_ in rows}


def _head_query() -> str:
    """SELECT organisation, last_seq, last_hash of every chain head (names from the model)."""
    meta = apps.get_model("core", "AuditChainHead")._meta
    cols = ", ".join(
        f'"{meta.get_field(name).column}"'  # type: ignore[union-attr]
        for name in ("organisation", "last_seq", "last_hash")
    )
    return f'SELECT {cols} FROM "{meta.db_table}"'  # noqa: S608 - identifiers from the model


def _count_query(table: str) -> str:
    """Row count of one of Django's own tables; any other name is refused (a manifest is data)."""
    if table not in _tables():
        raise BackupError(f"The manifest names a table this installation does not have: {table!r}")
    return f'SELECT COUNT(*) FROM "{table}"'  # noqa: S608 - only names from the model registry


def _key_id() -> str | None:
    from saisei.core.ledger_key import ledger_key, ledger_key_problem

    return None if ledger_key_problem() else ledger_key().key_id


# --- snapshot ---------------------------------------------------------------------------------


def _snapshot_sqlite(work: Path) -> tuple[Path, dict[str, int], dict[str, dict[str, Any]]]:
    connection.ensure_connection()
    source = connection.connection
    target_path = work / SQLITE_MEMBER
    target = sqlite3.connect(target_path)
    try:
        source.backup(target)
    finally:
        target.close()
    snap = sqlite3.connect(target_path)
    try:
        counts = {t: snap.execute(_count_query(t)).fetchone()[0] for t in _tables()}
        heads = _chain_heads(snap.execute(_head_query()).fetchall())
    finally:
        snap.close()
    return target_path, counts, heads


def _pg_env() -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = {**os.environ}
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if db.get(key):
            env[var] = str(db[key])
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    env["PGDATABASE"] = str(db["NAME"])
    return env


def _require_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(
            f"{name} is not installed; install the PostgreSQL client tools "
            f"(Debian: apt-get install postgresql-client) and try again."
        )
    return found


def _snapshot_postgres(work: Path) -> tuple[Path, dict[str, int], dict[str, dict[str, Any]]]:
    pg_dump = _require_tool("pg_dump")
    target_path = work / PG_MEMBER
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cur.execute("SELECT pg_export_snapshot()")
        snapshot = cur.fetchone()[0]
        counts = {}
        for table in _tables():
            cur.execute(_count_query(table))
            counts[table] = int(cur.fetchone()[0])
        cur.execute(_head_query())
        heads = _chain_heads(cur.fetchall())
        # The dump reads the exported snapshot while this transaction keeps it alive.
        result = subprocess.run(
            [
                pg_dump,
                "--format=custom",
                "--no-owner",
                f"--snapshot={snapshot}",
                "--file",
                str(target_path),
            ],
            env=_pg_env(),
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    return target_path, counts, heads


def backup_create(path: Path) -> dict[str, Any]:
    """Write the archive to ``path`` and return its manifest."""
    path = Path(path)
    if path.exists():
        raise BackupError(f"{path} exists already; choose a new file name.")
    media_root = Path(settings.MEDIA_ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        snapshot = _snapshot_sqlite if _is_sqlite() else _snapshot_postgres
        db_file, counts, heads = snapshot(work)
        members = {db_file.name: _sha256(db_file)}
        media_files = (
            sorted(p for p in media_root.rglob("*") if p.is_file()) if media_root.exists() else []
        )
        for file in media_files:
            members[MEDIA_PREFIX + file.relative_to(media_root).as_posix()] = _sha256(file)
        manifest = {
            "format": FORMAT,
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
            "engine": connection.vendor,
            "database": db_file.name,
            "members": members,
            "counts": counts,
            "chain_heads": heads,
            # Which key keyed the ledger (its public id, never the key: that travels apart).
            "ledger_key_id": _key_id(),
        }
        manifest_path = work / MANIFEST
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True))
        partial = path.with_name(path.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(manifest_path, arcname=MANIFEST)
            tar.add(db_file, arcname=db_file.name)
            for file in media_files:
                tar.add(file, arcname=MEDIA_PREFIX + file.relative_to(media_root).as_posix())
        partial.replace(path)  # a crash never leaves a half-written archive under the real name
    return manifest


# --- restore ----------------------------------------------------------------------------------


def _read_archive(path: Path, into: Path) -> dict[str, Any]:
    if not path.is_file():
        raise BackupError(f"{path} is not a file.")
    try:
        with tarfile.open(path, "r:gz") as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{path} is not a readable Saisei backup: {exc}") from exc
    manifest_path = into / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{path} has no manifest; it is not a Saisei backup.")
    manifest: dict[str, Any] = json.loads(manifest_path.read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Unknown backup format {manifest.get('format')!r}.")
    for name, digest in manifest["members"].items():
        member = into / name
        if not member.is_file() or _sha256(member) != digest:
            raise BackupError(f"Checksum mismatch for {name}: the archive is damaged or altered.")
    return manifest


def _database_is_empty() -> bool:
    existing = set(connection.introspection.table_names())
    for table in _tables():
        if table not in existing:
            continue
        if table == "django_migrations" or table.startswith(("django_content_type", "auth_perm")):
            continue
        with connection.cursor() as cur:
            cur.execute(f'SELECT 1 FROM "{table}" LIMIT 1')  # noqa: S608 - model table names
            if cur.fetchone():
                return False
    return True


def _restore_sqlite(db_file: Path) -> None:
    connection.ensure_connection()
    source = sqlite3.connect(db_file)
    try:
        source.backup(connection.connection)
    finally:
        source.close()
    connection.close()


def _restore_postgres(db_file: Path) -> None:
    pg_restore = _require_tool("pg_restore")
    connection.close()
    result = subprocess.run(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--dbname",
            str(settings.DATABASES["default"]["NAME"]),
            str(db_file),
        ],
        env=_pg_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()}")


def _compare(manifest: dict[str, Any]) -> RestoreReport:
    from saisei.core.audit import audit_verify

    report = RestoreReport()
    with connection.cursor() as cur:
        for table, expected in manifest["counts"].items():
            cur.execute(_count_query(table))
            actual = int(cur.fetchone()[0])
            report.counts_checked += 1
            if actual != expected:
                report.problems.append(f"{table}: {actual} rows, the backup had {expected}")
        cur.execute(_head_query())
        heads = _chain_heads(cur.fetchall())
    if heads != manifest["chain_heads"]:
        report.problems.append("The ledger chain heads differ from the ones the backup recorded.")
    wanted, have = manifest.get("ledger_key_id"), _key_id()
    if wanted and wanted != have:
        report.problems.append(
            f"The backup's ledger was keyed with ledger key {wanted}, but this installation's "
            f"key is {have or 'missing'}: install that key (kept apart from the backups, see "
            "docs/operations.md) and restore again."
        )
    report.problems.extend(f"Ledger: {p}" for p in audit_verify())
    report.entries_verified = manifest["counts"].get(
        str(apps.get_model("core", "AuditEntry")._meta.db_table), 0
    )
    return report


def backup_restore(path: Path, *, force: bool = False) -> RestoreReport:
    """Restore the archive into this installation's database and media directory."""
    media_root = Path(settings.MEDIA_ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        manifest = _read_archive(Path(path), work)
        if manifest["engine"] != connection.vendor:
            raise BackupError(
                f"This backup is of a {manifest['engine']} database; this installation uses "
                f"{connection.vendor}."
            )
        media_busy = media_root.exists() and any(media_root.iterdir())
        if not force and (not _database_is_empty() or media_busy):
            raise BackupError(
                "The database or the media directory is not empty; restore into an empty "
                "installation, or pass --force to replace what is there."
            )
        db_file = work / manifest["database"]
        (_restore_sqlite if manifest["engine"] == "sqlite" else _restore_postgres)(db_file)
        if media_root.exists():
            shutil.rmtree(media_root)
        source_media = work / MEDIA_PREFIX.rstrip("/")
        if source_media.exists():
            shutil.copytree(source_media, media_root)
        else:
            media_root.mkdir(parents=True, exist_ok=True)
    return _compare(manifest)
