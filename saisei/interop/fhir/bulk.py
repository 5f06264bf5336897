"""Bulk Data export (HL7 FHIR Bulk Data Access IG v2.0.0, "export.html"): parameters and writer.

The writer streams each source's rows from the database in chunks (``QuerySet.iterator``), maps
them with the same mappers as the read API and appends one JSON line per resource to a file per
type, so memory does not grow with the size of the export. It reads with the requester's
roles and organisation, exactly as a search by that person would.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from saisei.core.models import User
from saisei.interop.fhir.registry import RESOURCE_TYPES, Source
from saisei.interop.fhir.search import SearchError

CHUNK = 500
NDJSON = "application/fhir+ndjson"
# Bulk Data IG v2 §kick-off: servers SHALL support application/fhir+ndjson and SHOULD accept
# the abbreviations application/ndjson and ndjson.
OUTPUT_FORMATS = frozenset({NDJSON, "application/ndjson", "ndjson"})
KICKOFF_PARAMETERS = frozenset({"_outputFormat", "_since", "_type"})


def export_dir(external_id: Any) -> Path:
    """Where an export's files live: under the data directory, never under a served path."""
    return Path(settings.DATA_DIR) / "exports" / str(external_id)


def parse_kickoff(
    params: Mapping[str, Any], *, prefer: str, actor: User
) -> tuple[list[str], dt.datetime | None]:
    """The requested types and ``_since``; refuses what the IG says a server must not guess."""
    if "respond-async" not in [p.strip() for p in prefer.split(",")]:
        raise SearchError(_("A bulk export needs the header 'Prefer: respond-async'."))
    unknown = sorted(set(params) - KICKOFF_PARAMETERS)
    if unknown:
        raise SearchError(
            _("Unsupported export parameter(s): %(names)s.") % {"names": ", ".join(unknown)}
        )
    output_format = params.get("_outputFormat") or NDJSON
    if output_format not in OUTPUT_FORMATS:
        raise SearchError(
            _("Unsupported _outputFormat '%(value)s'; use %(format)s.")
            % {"value": output_format, "format": NDJSON}
        )
    readable = [name for name, rt in RESOURCE_TYPES.items() if rt.readable(actor)]
    types = readable
    if params.get("_type"):
        types = [t.strip() for t in str(params["_type"]).split(",") if t.strip()]
        refused = [t for t in types if t not in readable]
        if refused:
            raise SearchError(
                _("Cannot export %(types)s: unknown type or not readable with your roles.")
                % {"types": ", ".join(refused)}
            )
        types = list(dict.fromkeys(types))
    since = None
    if params.get("_since"):
        raw = str(params["_since"])
        try:
            since = parse_datetime(raw)
        except ValueError:
            since = None
        if since is None or since.tzinfo is None:
            raise SearchError(
                _("_since must be a FHIR instant with a time zone, e.g. 2026-01-01T00:00:00+09:00.")
            )
    return types, since


def _rows(
    name: str,
    source: Source,
    actor: User,
    *,
    patients: QuerySet | None,
    since: dt.datetime | None,
) -> QuerySet:
    qs = source.rows(actor)
    if patients is not None:
        if source.has_patient:
            qs = source.for_patients(qs, "in", patients)
        elif name == "Patient":
            qs = qs.filter(pk__in=patients)
    if since is not None:
        qs = qs.filter(**{f"{source.updated_field}__gte": since})
    return qs


def plan_sources(
    *, actor: User, types: Iterable[str], patients: QuerySet | None, since: dt.datetime | None
) -> list[tuple[str, list[tuple[QuerySet, Source]]]]:
    """Per type: the querysets to stream (one per readable source), each with its source."""
    return [
        (
            name,
            [
                (_rows(name, s, actor, patients=patients, since=since), s)
                for s in RESOURCE_TYPES[name].readable_sources(actor)
            ],
        )
        for name in types
    ]


class Cancelled(Exception):
    """The export was cancelled while it ran."""


def write(
    *,
    actor: User,
    directory: Path,
    types: Iterable[str],
    patients: QuerySet | None,
    since: dt.datetime | None,
    on_progress: Any,
) -> list[dict[str, Any]]:
    """Write one NDJSON file per type; returns the manifest's output items (non-empty files).

    ``on_progress(written)`` is called after each chunk; it raises ``Cancelled`` to stop.
    """
    directory.mkdir(parents=True, exist_ok=True)
    output = []
    written = 0
    types = list(types)
    for name, querysets in plan_sources(
        actor=actor,
        types=[t for t in types if RESOURCE_TYPES[t].static is None],
        patients=patients,
        since=since,
    ):
        path = directory / f"{name}.ndjson"
        count = 0
        with path.open("w", encoding="utf-8") as handle:
            for qs, source in querysets:
                for row in qs.iterator(chunk_size=CHUNK):
                    handle.write(
                        json.dumps(source.mapper(row), ensure_ascii=False, separators=(",", ":"))
                    )
                    handle.write("\n")
                    count += 1
                    if count % CHUNK == 0:
                        on_progress(written + count)
        written += count
        on_progress(written)
        if count:
            output.append({"type": name, "file": path.name, "count": count})
        else:
            path.unlink()
    # Saisei's CodeSystems (not rows, so not limited by _since) go with any non-empty export, so
    # every coding in it resolves inside it.
    for name in types:
        static = RESOURCE_TYPES[name].static
        resources = static(actor) if static is not None and written else []
        if resources:
            path = directory / f"{name}.ndjson"
            with path.open("w", encoding="utf-8") as handle:
                for resource in resources:
                    handle.write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")))
                    handle.write("\n")
            output.append({"type": name, "file": path.name, "count": len(resources)})
            written += len(resources)
            on_progress(written)
    return output


def expected_count(
    *, actor: User, types: Iterable[str], patients: QuerySet | None, since: dt.datetime | None
) -> int:
    """How many resources the export will hold (one count per source), for the progress bar."""
    static = sum(
        len(static(actor)) for name in types if (static := RESOURCE_TYPES[name].static) is not None
    )
    return static + sum(
        qs.count()
        for _name, querysets in plan_sources(
            actor=actor, types=types, patients=patients, since=since
        )
        for qs, _source in querysets
    )


def remove_files(external_id: Any) -> None:
    shutil.rmtree(export_dir(external_id), ignore_errors=True)
