"""Small helpers shared by the processing views."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from saisei.core.errors import NotFound
from saisei.core.permissions import staff_user
from saisei.processing import permissions


def get_or_404(fn: Callable[..., Any], **kw: Any) -> Any:
    try:
        return fn(**kw)
    except NotFound:
        raise Http404 from None


def forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "core/forbidden.html", status=403)


def can_view(request: HttpRequest) -> bool:
    return permissions.can_view_processing(staff_user(request))
