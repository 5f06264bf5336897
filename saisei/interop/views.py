"""The FHIR R4 endpoints under /fhir/R4/: metadata, read and search (thin: parse, select, map).

Authentication is core's: a Bearer token (``BearerTokenAuth``) or the staff web session with its
two-factor step (``StaffSessionAuth``). Errors are OperationOutcome resources (R4 http.html).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from saisei.core.access_log import FHIR, access_log_record
from saisei.core.api_support import BearerTokenAuth, StaffSessionAuth
from saisei.core.errors import DomainError
from saisei.core.models import User
from saisei.core.permissions import is_staff_user, staff_user
from saisei.core.views import staff_page
from saisei.interop.fhir import everything, includes, responses
from saisei.interop.fhir.capability import capability_statement
from saisei.interop.fhir.registry import RESOURCE_TYPES, ResourceType, Source
from saisei.interop.fhir.search import SearchError, parse

logger = logging.getLogger(__name__)

_bearer = BearerTokenAuth()
_session = StaffSessionAuth()


def _authenticate(request: HttpRequest) -> User | None:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        user = _bearer.authenticate(request, token.strip())
        return user if user is not None else None
    user = _session.authenticate(request, None)
    return user if user is not None else None


def base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/fhir/R4/")


def _fhir_endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """GET only, authenticated staff of an organisation; never a 500 without an OperationOutcome."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "GET":
            return responses.error(405, _("Only GET is supported by this FHIR server."))
        actor = _authenticate(request)
        if actor is None:
            return responses.error(
                401, _("Authentication is required (a Bearer token or a signed-in session).")
            )
        if not is_staff_user(actor):
            return responses.error(403, _("This account belongs to no organisation."))
        try:
            return view(request, actor, *args, **kwargs)
        except SearchError as exc:
            return responses.error(400, str(exc))
        except Exception:
            logger.exception("Unhandled FHIR API error")
            return responses.error(
                500, _("Something went wrong on our side; the error was logged.")
            )

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    wrapped.__wrapped__ = view  # type: ignore[attr-defined]
    return wrapped


def _resource_type(name: str, actor: User) -> tuple[ResourceType, list[Source]] | HttpResponse:
    rt = RESOURCE_TYPES.get(name)
    if rt is None:
        return responses.error(
            404, _("The resource type '%(type)s' is not supported.") % {"type": name}
        )
    sources = rt.readable_sources(actor)
    if not rt.readable(actor):
        return responses.error(
            403, _("Your roles do not allow reading %(type)s resources.") % {"type": name}
        )
    return rt, sources


@require_GET
def metadata(request: HttpRequest) -> HttpResponse:
    """The CapabilityStatement; public, as clients read it before they authenticate."""
    return responses.fhir_response(capability_statement(base_url=base_url(request)))


def _patient_of(resource: dict[str, Any], obj: Any) -> Any:
    """The patient a resource belongs to, for the access log: itself, or its subject/patient."""
    if resource.get("resourceType") == "Patient":
        return obj
    for key in ("subject", "patient", "beneficiary"):
        ref = resource.get(key)
        if isinstance(ref, dict) and str(ref.get("reference", "")).startswith("Patient/"):
            return (str(ref["reference"]).removeprefix("Patient/"), "")
    return None


@_fhir_endpoint
def read(
    request: HttpRequest, actor: User, resource_type: str, resource_id: str, log: bool = True
) -> HttpResponse:
    found = _resource_type(resource_type, actor)
    if isinstance(found, HttpResponse):
        return found
    rt, sources = found
    if rt.static is not None:
        for resource in rt.static(actor):
            if resource["id"] == resource_id:
                return responses.fhir_response(resource)
    for source in sources:
        obj = source.rows(actor).filter(source.id_filter([resource_id])).first()
        if obj is not None:
            resource = source.mapper(obj)
            if log:
                access_log_record(
                    actor=actor,
                    channel=FHIR,
                    subject_type=f"fhir.{resource_type}",
                    subject_id=resource_id,
                    patient=_patient_of(resource, obj),
                    label=f"FHIR {resource_type} read",
                )
            return responses.fhir_response(resource)
    return responses.error(
        404,
        _("%(type)s/%(id)s is not known to this server.")
        % {"type": resource_type, "id": resource_id},
    )


@_fhir_endpoint
def search(request: HttpRequest, actor: User, resource_type: str) -> HttpResponse:
    found = _resource_type(resource_type, actor)
    if isinstance(found, HttpResponse):
        return found
    rt, sources = found
    query = parse(
        request.GET,
        resource_type=rt.name,
        has_patient=rt.has_patient,
        includes=includes.supported(rt.name),
    )
    total = 0
    resources: list[dict[str, Any]] = []
    if rt.static is not None:
        matches = [r for r in rt.static(actor) if query.ids is None or r["id"] in query.ids]
        total = len(matches)
        resources = matches[query.offset : query.offset + query.count]
    # One count and at most one page query per source: the cost does not grow with the page.
    for source in sources:
        qs = query.apply(source.rows(actor), source)
        size = qs.count()
        start = max(0, query.offset - total)
        want = query.count - len(resources)
        if want > 0 and start < size:
            resources += [source.mapper(row) for row in qs[start : start + want]]
        total += size
    extra = includes.included(actor=actor, resources=resources, includes=query.includes)
    return responses.fhir_response(
        searchset(
            base=base_url(request),
            resource_type=rt.name,
            params=request.GET,
            offset=query.offset,
            count=query.count,
            total=total,
            resources=resources,
            included=extra,
        )
    )


@_fhir_endpoint
def patient_everything(request: HttpRequest, actor: User, resource_id: str) -> HttpResponse:
    """GET Patient/{id}/$everything: a searchset Bundle of the whole record (no paging)."""
    patient = read.__wrapped__(request, actor, "Patient", resource_id, log=False)  # type: ignore[attr-defined]
    if patient.status_code != 200:
        return patient
    patient_resource = json.loads(patient.content)
    resources = everything.patient_everything(actor=actor, patient_resource=patient_resource)
    code = next(  # the medical record number (patient code), not the urn:uuid identifier
        (
            str(i["value"])
            for i in patient_resource.get("identifier", [])
            if i.get("value") and not str(i["value"]).startswith("urn:")
        ),
        "",
    )
    access_log_record(
        actor=actor,
        channel=FHIR,
        subject_type="fhir.Patient/$everything",
        subject_id=resource_id,
        patient=(resource_id, code),
        label=f"FHIR Patient $everything ({len(resources)} resources)",
    )
    base = base_url(request)
    return responses.fhir_response(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(resources),
            "link": [{"relation": "self", "url": f"{base}Patient/{resource_id}/$everything"}],
            "entry": [
                {
                    "fullUrl": f"{base}{r['resourceType']}/{r['id']}",
                    "resource": r,
                    "search": {"mode": "match" if r["resourceType"] == "Patient" else "include"},
                }
                for r in resources
            ],
        }
    )


def searchset(
    *,
    base: str,
    resource_type: str,
    params: Any,
    offset: int,
    count: int,
    total: int,
    resources: list[dict[str, Any]],
    included: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A searchset Bundle with self/first/previous/next links (R4 http.html#paging)."""
    kept = [(k, v) for k in params for v in params.getlist(k) if k not in ("_offset", "_count")]

    def page_url(page_offset: int) -> str:
        query = [*kept, ("_count", str(count)), ("_offset", str(page_offset))]
        return f"{base}{resource_type}?{urlencode(query)}"

    links = [
        {"relation": "self", "url": page_url(offset)},
        {"relation": "first", "url": page_url(0)},
    ]
    if offset > 0:
        links.append({"relation": "previous", "url": page_url(max(0, offset - count))})
    if offset + count < total:
        links.append({"relation": "next", "url": page_url(offset + count)})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": mode},
            }
            for mode, group in (("match", resources), ("include", included or []))
            for r in group
        ],
    }


def not_found(request: HttpRequest, path: str = "") -> HttpResponse:
    return responses.error(404, _("No such FHIR endpoint."))


# --- the org_admin page: start an export, watch it, download its files ----------------------


@staff_page
def export_page(request: HttpRequest) -> HttpResponse:
    from saisei.interop import permissions, selectors, services
    from saisei.interop.forms import ExportForm
    from saisei.regulatory import selectors as regulatory_selectors

    actor = staff_user(request)
    if not permissions.can_bulk_export(actor):
        raise PermissionDenied
    plans = list(regulatory_selectors.plan_list(actor=actor))
    types = [name for name, rt in RESOURCE_TYPES.items() if rt.readable(actor)]
    form = ExportForm(request.POST or None, plans=plans, types=types)
    if request.method == "POST" and request.POST.get("cancel"):
        export = selectors.export_get(actor=actor, external_id=request.POST["cancel"])
        try:
            services.export_cancel(actor=actor, export=export)
        except DomainError as exc:
            messages.error(request, str(exc.message))
        return redirect("interop:exports")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        services.export_start(
            actor=actor,
            level=data["level"],
            plan=data["plan"],
            types=data["types"] or types,
            since=data["since"],
            request_url=request.build_absolute_uri(),
        )
        messages.success(request, _("The export was queued; this page shows its progress."))
        return redirect("interop:exports")
    exports = list(selectors.export_list(actor=actor)[:50])
    running = any(e.status in ("queued", "running") for e in exports)
    return render(
        request,
        "interop/exports.html",
        {
            "form": form,
            "exports": exports,
            "running": running,
            "fhir_base": base_url(request),
            "redcap": permissions.can_research_export(actor),
        },
        status=400 if request.method == "POST" else 200,
    )


@staff_page
@require_GET
def redcap_download(request: HttpRequest, part: str) -> StreamingHttpResponse:
    """The REDCap data dictionary or records, from the exports page (same reads as the API)."""
    from saisei.core.access_log import WEB
    from saisei.interop import selectors
    from saisei.interop.api import csv_response
    from saisei.interop.permissions import can_research_export

    actor = staff_user(request)
    if not can_research_export(actor):
        raise PermissionDenied
    if part == "dictionary":
        return csv_response(selectors.redcap_dictionary(actor=actor), "saisei_dictionary.csv")
    lines = selectors.redcap_records(actor=actor)
    access_log_record(
        actor=actor,
        channel=WEB,
        subject_type="interop.redcap_records",
        subject_id=getattr(actor.organisation, "external_id", ""),
        label="REDCap records",
    )
    return csv_response(lines, "saisei_records.csv")
