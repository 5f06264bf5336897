"""The handover archive: one organisation's records as a self-contained zip, verifiable offline.

When a clinic closes or hands a programme over, the records it must keep (``core.retention``) go
with it in a form that does not need Saisei to read: per record class a JSON file (every field,
as Django's serializer writes it) and a CSV file (one row per record), the stored documents as
they were filed, the retention table, and ``manifest.json`` with the SHA-256 and size of every
other member. ``archive_verify`` recomputes every digest and reports a changed, missing or
unlisted file.

Documents: the PDF (and other) files stored with the records (FileFields: consent documents,
inquiry files, ...) are copied byte for byte, and beside each PDF goes a PDF/A-2b rendition
(``<name>.pdfa.pdf``, made and checked by ``core.pdfa``). The manifest lists each document with
the record it belongs to and either ``"pdfa": true`` with the rendition's file, or ``"pdfa":
false`` with the reason there is none (a conversion that failed or could not be checked is never
claimed; decision 0032). Both files are in the digest list, so ``archive_verify`` checks both,
and it also checks that each entry's files are listed and that a rendition identifies itself as
PDF/A. Backups (``core.backup``) are for restoring this installation; this archive is for another
one, or for none. It reuses backup's digest helper.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core import serializers
from django.db import models
from django.utils import timezone

from saisei.core.backup import _sha256
from saisei.core.pdfa import identification, pdfa_rendition

FORMAT = "saisei-handover/2"
FORMATS = frozenset({"saisei-handover/1", FORMAT})
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


def _stored_documents(
    model: type[models.Model], objs: list[models.Model]
) -> Iterator[tuple[models.Model, str, bytes]]:
    """(record, archive name, bytes) of every stored file, and of every PDF kept in a binary
    field (a filed official form keeps its PDF in the row, ``regulatory.FiledDocument.pdf``)."""
    label = model._meta.label
    for field in model._meta.concrete_fields:
        for obj in objs:
            if isinstance(field, models.FileField):
                stored = getattr(obj, field.name)
                if not stored:
                    continue
                try:
                    with stored.open("rb") as fh:
                        data = fh.read()
                except OSError as exc:
                    raise ArchiveError(f"A stored document cannot be read: {stored.name}") from exc
                yield obj, f"documents/{label}/{obj.pk}/{Path(stored.name).name}", data
            elif isinstance(field, models.BinaryField):
                value = bytes(getattr(obj, field.attname) or b"")
                if value[:5] == b"%PDF-":
                    yield obj, f"documents/{label}/{obj.pk}/{field.name}.pdf", value


def _pdfa_entry(name: str, data: bytes, put: Any) -> dict[str, Any]:
    """Store a checked PDF/A rendition beside the original and say so; or say why there is none."""
    rendition = pdfa_rendition(data)
    if rendition.data is None:
        return {"pdfa": False, "pdfa_reason": rendition.reason}
    pdfa_name = f"{name.removesuffix('.pdf')}.pdfa.pdf"
    put(pdfa_name, rendition.data)
    return {
        "pdfa": True,
        "pdfa_file": pdfa_name,
        "pdfa_conformance": "PDF/A-2b",
        "pdfa_tool": rendition.tool,
        "pdfa_text_preserved": rendition.text_preserved,
    }


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
            for obj, name, data in _stored_documents(model, objs):
                put(name, data)
                entry: dict[str, Any] = {
                    "file": name,
                    "record": label,
                    "external_id": str(getattr(obj, "external_id", obj.pk)),
                    "pdf": data[:5] == b"%PDF-",
                }
                if entry["pdf"]:
                    entry.update(_pdfa_entry(name, data, put))
                else:
                    entry.update(pdfa=False, pdfa_reason="not a PDF")
                documents.append(entry)
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
        if manifest.get("format") not in FORMATS:
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
        problems += _documents_problems(zf, manifest.get("documents") or [], listed, names)
    return problems


def _documents_problems(
    zf: zipfile.ZipFile, documents: list[dict[str, Any]], listed: dict[str, Any], names: set[str]
) -> list[str]:
    """A document entry whose original or PDF/A rendition is not a listed file, or a rendition
    that does not identify itself as PDF/A."""
    problems = []
    for doc in documents:
        for key in ("file", "pdfa_file") if doc.get("pdfa") else ("file",):
            name = doc.get(key)
            if not name or name not in listed:
                problems.append(f"document entry without its listed file: {name or doc}")
        pdfa_name = str(doc.get("pdfa_file") or "")
        in_zip = doc.get("pdfa") and pdfa_name in listed and pdfa_name in names
        if in_zip and identification(zf.read(pdfa_name))[0] != "2":
            problems.append(f"not identified as PDF/A: {pdfa_name}")
    return problems
