"""Request id for the audit ledger, and the two-factor step for staff sessions."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from saisei.core.context import request_context

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = rid  # type: ignore[attr-defined]
        with request_context(request_id=rid, client_ip=client_ip(request)):
            response = self.get_response(request)
        response["X-Request-ID"] = rid
        return response


EXEMPT_PREFIXES = (
    "/accounts/",
    "/i18n/",
    "/static/",
    "/journey/portal/",
    "/journey/inquiry/",
    "/api/",
    "/fhir/",
    "/healthz",
)


class TwoFactorMiddleware:
    """Staff who use 2FA must pass it after the password; qa_manager and org_admin must enrol."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Exempt paths first: the API authenticates by token and must not load a session.
        if request.path.startswith(EXEMPT_PREFIXES):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.session.get("2fa_ok"):
            return self.get_response(request)
        if user.two_factor_enabled:
            return redirect(f"{reverse('core:two_factor_verify')}?next={request.path}")
        if user.two_factor_required:
            return redirect(reverse("core:two_factor_setup"))
        return self.get_response(request)


def json_error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)
