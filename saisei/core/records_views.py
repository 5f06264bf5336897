"""Pages for records as a whole: the retention report with disposal, and handover archives."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from saisei.core.errors import DomainError
from saisei.core.models import HandoverArchive
from saisei.core.permissions import org_id_of, staff_user
from saisei.core.records import (
    archive_path,
    archive_start,
    can_archive,
    can_manage_records,
    record_dispose,
    record_get,
)
from saisei.core.retention import retention_report
from saisei.core.views import render_form_error, staff_page


class DisposeForm(forms.Form):
    model = forms.CharField(label=_("Record class"), max_length=100)
    external_id = forms.UUIDField(label=_("Record id"))
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class ArchiveForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (closure, handover of a programme)"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    actor = staff_user(request)
    return {
        "rows": retention_report(organisation=actor.organisation),
        "dispose_form": DisposeForm(),
        "archive_form": ArchiveForm(),
        "can_archive": can_archive(actor),
        "archives": HandoverArchive.objects.filter(organisation_id=org_id_of(actor))[:20],
        **extra,
    }


@staff_page
def records_page(request: HttpRequest) -> HttpResponse:
    if not can_manage_records(staff_user(request)):
        return render(request, "core/forbidden.html", status=403)
    return render(request, "core/records.html", _context(request))


@staff_page
@require_POST
def record_dispose_page(request: HttpRequest) -> HttpResponse:
    actor = staff_user(request)
    if not can_manage_records(actor):
        return render(request, "core/forbidden.html", status=403)
    form = DisposeForm(request.POST)
    if not form.is_valid():
        return render(
            request, "core/records.html", _context(request, dispose_form=form), status=400
        )
    try:
        record = record_get(
            actor=actor,
            model=form.cleaned_data["model"],
            external_id=str(form.cleaned_data["external_id"]),
        )
        record_dispose(actor=actor, record=record, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        if exc.status_code == 404:
            raise Http404 from exc
        ctx = _context(request)
        ctx.pop("dispose_form")
        return render_form_error(
            request, "core/records.html", {**ctx, "dispose_form": form}, exc, form
        )
    return redirect("core:records")


@staff_page
@require_POST
def archive_start_page(request: HttpRequest) -> HttpResponse:
    actor = staff_user(request)
    if not can_archive(actor):
        return render(request, "core/forbidden.html", status=403)
    form = ArchiveForm(request.POST)
    if not form.is_valid():
        return render(
            request, "core/records.html", _context(request, archive_form=form), status=400
        )
    archive_start(actor=actor, reason=form.cleaned_data["reason"])
    return redirect("core:records")


@staff_page
def archive_download(request: HttpRequest, external_id: str) -> HttpResponse | FileResponse:
    actor = staff_user(request)
    if not can_archive(actor):
        return render(request, "core/forbidden.html", status=403)
    archive = HandoverArchive.objects.filter(
        organisation_id=org_id_of(actor),
        external_id=external_id,
        status=HandoverArchive.Status.COMPLETED,
    ).first()
    if archive is None or not archive_path(archive).exists():
        raise Http404
    return FileResponse(
        archive_path(archive).open("rb"), as_attachment=True, filename=archive.file_name
    )
