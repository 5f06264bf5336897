"""The handover archive: one organisation's records as a self-contained zip, verifiable offline.

When a clinic closes or hands a programme over, the records it must keep (``core.retention``) go
with it in a form that does not need Saisei to read: per record class a JSON file (every field,
as Django's serializer writes it) and a CSV file (one row per record), the stored documents as
they were filed, the retention table, and ``manifest.json`` with the SHA-256 and size of every
other member. ``archive_verify`` recomputes every digest and reports a changed, missing or
unlisted file.

Documents: the PDF (and other) files stored with the records (FileFields: consent documents,
inquiry files, ...) are copied byte for byte; the manifest lists each with the record it belongs
to and ``"pdfa": false`` — they are the documents as filed, not converted to PDF/A (decision
0023). Backups (``core.backup``) are for restoring this installation; this archive is for another
one, or for none. It reuses backup's digest helper.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core import serializers
from django.db import models
from django.utils import timezone

from saisei.core.backup import _sha256

FORMAT = "saisei-handover/1"
MANIFEST = "manifest.json"
# Fields never exported: secrets and credentials.
SECRET_FIELDS = frozenset({"password", "totp_secret", "token_hash", "key_hash", "secret"})


class ArchiveError(Exception):
    """An archive that cannot be written or read as asked; the message says why."""


def _org_models() -> list[type[models.Model]]:
    """Every concrete model whose rows belong to one organisation (a direct ``organisation``)."""
    out = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        if model._meta.app_label == "core" and model._meta.model_name in {"apitoken", "user"}:
            continue
        field = next((f for f in model._meta.concrete_fields if f.name == "organisation"), None)
        if isinstance(field, models.ForeignKey):
            out.append(model)
    return sorted(out, key=lambda m: m._meta.label)


def _csv(model: type[models.Model], rows: list[dict[str, Any]]) -> bytes:
    names = [
        f.attname
        for f in model._meta.concrete_fields
        if f.name not in SECRET_FIELDS and f.attname not in SECRET_FIELDS
    ]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(names)
    for row in rows:
        writer.writerow(
            [
                json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
                for v in (row.get(n) for n in names)
            ]
        )
    return buf.getvalue().encode("utf-8")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def archive_write(*, organisation: Any, path: Path, progress: Any = None) -> dict[str, Any]:
    """Write the organisation's archive to ``path`` and return its manifest."""
    from saisei.core.retention import rules

    files: dict[str, dict[str, Any]] = {}
    documents: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:

        def put(name: str, data: bytes) -> None:
            zf.writestr(name, data)
            files[name] = {"sha256": _digest(data), "size": len(data)}

        for model in _org_models():
            label = model._meta.label
            qs = model._default_manager.filter(organisation=organisation).order_by("pk")
            objs = list(qs)
            counts[label] = len(objs)
            if not objs:
                continue
            fields = [
                f.name
                for f in model._meta.concrete_fields
                if f.name not in SECRET_FIELDS and not f.primary_key
            ]
            put(
                f"data/{label}.json",
                serializers.serialize(
                    "json", objs, fields=fields, indent=1, ensure_ascii=False
                ).encode(),
            )
            rows = list(
                qs.values(
                    *[f.attname for f in model._meta.concrete_fields if f.name not in SECRET_FIELDS]
                )
            )
            put(f"data/{label}.csv", _csv(model, rows))
            for field in model._meta.concrete_fields:
                if not isinstance(field, models.FileField):
                    continue
                for obj in objs:
                    stored = getattr(obj, field.name)
                    if not stored:
                        continue
                    try:
                        with stored.open("rb") as fh:
                            data = fh.read()
                    except OSError as exc:
                        raise ArchiveError(
                            f"A stored document cannot be read: {stored.name}"
                        ) from exc
                    name = f"documents/{label}/{obj.pk}/{Path(stored.name).name}"
                    put(name, data)
                    documents.append(
                        {
                            "file": name,
                            "record": label,
                            "external_id": str(getattr(obj, "external_id", obj.pk)),
                            "pdf": data[:5] == b"%PDF-",
                            "pdfa": False,
                            "note": "the document as filed, byte for byte; not converted to PDF/A",
                        }
                    )
            if progress is not None:
                progress(label)
        retention = [
            {
                "model": r.model,
                "years": r.years,
                "start_event": r.start.code,
                "source": r.source,
                "certain": r.certain,
            }
            for r in rules().values()
        ]
        put("retention.json", json.dumps(retention, indent=1, ensure_ascii=False).encode())
        manifest = {
            "format": FORMAT,
            "organisation": {
                "name": organisation.name,
                "external_id": str(organisation.external_id),
            },
            "created_at": timezone.now().astimezone(dt.UTC).isoformat(),
            "counts": counts,
            "documents": documents,
            "files": files,
        }
        zf.writestr(MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False))
    tmp.replace(path)
    manifest["archive_sha256"] = _sha256(path)
    return manifest


def archive_verify(path: Path) -> list[str]:
    """Every problem found: a file changed, missing or not in the manifest. Empty means intact."""
    problems: list[str] = []
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"not a readable zip archive: {exc}"]
    with zf:
        names = set(zf.namelist())
        if MANIFEST not in names:
            return ["manifest.json is missing"]
        try:
            manifest = json.loads(zf.read(MANIFEST))
        except ValueError:
            return ["manifest.json cannot be read"]
        if manifest.get("format") != FORMAT:
            problems.append(f"unknown format {manifest.get('format')!r}")
        listed = manifest.get("files") or {}
        for name, meta in sorted(listed.items()):
            if name not in names:
                problems.append(f"missing: {name}")
                continue
            data = zf.read(name)
            if _digest(data) != meta.get("sha256") or len(data) != meta.get("size"):
                problems.append(f"changed: {name}")
        for name in sorted(names - set(listed) - {MANIFEST}):
            problems.append(f"not in the manifest: {name}")
    return problems
