"""Bulk Data endpoints (FHIR Bulk Data Access IG v2): kick-off, status, cancel, file download.

Thin: authenticate as the read API does, parse, call the interop services, answer as the IG
says (202 + Content-Location on kick-off; 202 with X-Progress while running; 200 with the
manifest; DELETE → 202; files as application/fhir+ndjson with the same token).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from saisei.core.access_log import FHIR, access_log_record
from saisei.core.errors import DomainError
from saisei.core.models import User
from saisei.core.permissions import is_staff_user
from saisei.interop import permissions, selectors, services
from saisei.interop.fhir import bulk, responses
from saisei.interop.fhir.search import SearchError
from saisei.interop.models import BulkExport
from saisei.interop.views import _authenticate, base_url


def _bulk_endpoint(*methods: str) -> Callable[..., Callable[..., HttpResponse]]:
    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return responses.error(405, _("This method is not supported here."))
            actor = _authenticate(request)
            if actor is None:
                return responses.error(
                    401, _("Authentication is required (a Bearer token or a signed-in session).")
                )
            if not is_staff_user(actor) or not permissions.can_bulk_export(actor):
                return responses.error(
                    403, _("Only the organisation's administrator may run bulk exports.")
                )
            try:
                return view(request, actor, *args, **kwargs)
            except SearchError as exc:
                return responses.error(400, str(exc))
            except DomainError as exc:
                status = exc.status_code if exc.status_code in responses.ISSUE_CODE else 400
                return responses.error(status, str(exc.message))

        wrapped.__name__ = view.__name__
        return wrapped

    return decorate


def _kickoff(request: HttpRequest, actor: User, *, level: str, plan: Any = None) -> HttpResponse:
    types, since = bulk.parse_kickoff(
        request.GET, prefer=request.headers.get("Prefer", ""), actor=actor
    )
    export = services.export_start(
        actor=actor,
        level=level,
        plan=plan,
        types=types,
        since=since,
        request_url=request.build_absolute_uri(),
    )
    response = HttpResponse(status=202)
    response["Content-Location"] = status_url(request, export)
    return response


def status_url(request: HttpRequest, export: BulkExport) -> str:
    return f"{base_url(request)}$export-status/{export.external_id}"


@_bulk_endpoint("GET")
def export_system(request: HttpRequest, actor: User) -> HttpResponse:
    return _kickoff(request, actor, level=BulkExport.Level.SYSTEM)


@_bulk_endpoint("GET")
def export_patients(request: HttpRequest, actor: User) -> HttpResponse:
    return _kickoff(request, actor, level=BulkExport.Level.PATIENT)


@_bulk_endpoint("GET")
def export_group(request: HttpRequest, actor: User, group_id: str) -> HttpResponse:
    """A Group is a provision plan: its patients are those with a treatment course under it."""
    from saisei.regulatory import selectors as regulatory_selectors

    try:
        plan = regulatory_selectors.plan_get(actor=actor, external_id=group_id)
    except DomainError:
        return responses.error(
            404, _("Group/%(id)s is not known to this server.") % {"id": group_id}
        )
    return _kickoff(request, actor, level=BulkExport.Level.GROUP, plan=plan)


def manifest(request: HttpRequest, export: BulkExport) -> dict[str, Any]:
    base = base_url(request)
    return {
        "transactionTime": export.transaction_time.isoformat() if export.transaction_time else "",
        "request": export.request_url,
        "requiresAccessToken": True,
        "output": [
            {
                "type": item["type"],
                "url": f"{base}$export-file/{export.external_id}/{item['file']}",
                "count": item["count"],
            }
            for item in export.output
        ],
        "error": [],
    }


def _gone(export_id: str) -> HttpResponse:
    return responses.error(404, _("No export %(id)s.") % {"id": export_id})


@csrf_exempt  # DELETE is accepted with a Bearer token only (below), never from a session.
@_bulk_endpoint("GET", "DELETE")
def export_status(request: HttpRequest, actor: User, export_id: str) -> HttpResponse:
    try:
        export = selectors.export_get(actor=actor, external_id=export_id)
    except DomainError:
        return _gone(export_id)
    if export.status == BulkExport.Status.CANCELLED:
        return _gone(export_id)
    if request.method == "DELETE":
        if not request.headers.get("Authorization"):
            return responses.error(
                403, _("Cancel with a Bearer token, or from the export page while signed in.")
            )
        services.export_cancel(actor=actor, export=export)
        return HttpResponse(status=202)
    if export.status in (BulkExport.Status.QUEUED, BulkExport.Status.RUNNING):
        response = HttpResponse(status=202)
        response["X-Progress"] = f"{export.progress_percent}%"
        response["Retry-After"] = "2"
        return response
    if export.status == BulkExport.Status.FAILED:
        return responses.error(500, export.error or _("The export failed."))
    return HttpResponse(
        json.dumps(manifest(request, export), ensure_ascii=False),
        content_type="application/json",
    )


@_bulk_endpoint("GET")
def export_file(
    request: HttpRequest, actor: User, export_id: str, name: str
) -> HttpResponse | FileResponse:
    try:
        export = selectors.export_get(actor=actor, external_id=export_id)
    except DomainError:
        return _gone(export_id)
    files = {item["file"] for item in export.output}
    if export.status != BulkExport.Status.COMPLETED or name not in files:
        return responses.error(404, _("No such file in this export."))
    path = bulk.export_dir(export.external_id) / name
    if not path.is_file():
        return responses.error(404, _("No such file in this export."))
    # A bulk file is an export of patients' records: who took it is on the access log.
    access_log_record(
        actor=actor,
        channel=FHIR,
        subject_type="fhir.$export-file",
        subject_id=export.external_id,
        label=f"FHIR bulk export {name}",
    )
    return FileResponse(path.open("rb"), content_type=bulk.NDJSON)
