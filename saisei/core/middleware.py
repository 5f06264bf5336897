"""Request id for the audit ledger, and the two-factor step for staff sessions."""

from __future__ import annotations

import functools
import ipaddress
import re
import uuid
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from saisei.core.context import request_context

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@functools.cache
def _trusted_networks(
    proxies: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip())


def _is_trusted(address: str, networks: tuple[Any, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address: REMOTE_ADDR, or, behind a configured trusted proxy, the nearest
    address in X-Forwarded-For that is not itself one of the trusted proxies.

    The header is read right to left because each proxy appends the peer it saw; anything left
    of the first untrusted hop was written by the client and proves nothing.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    networks = _trusted_networks(tuple(settings.SAISEI_TRUSTED_PROXIES))
    if not remote or not networks or not _is_trusted(remote, networks):
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([h for h in hops if h]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return remote  # a malformed hop: trust nothing beyond our own proxy
        if not _is_trusted(hop, networks):
            return hop
    return remote


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = rid  # type: ignore[attr-defined]
        with request_context(
            request_id=rid,
            client_ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", "")[:200],
        ):
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
    """An error in the API shape for answers given outside the API (404 routes, guards)."""
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status)


# Every API operation that takes a body takes JSON (docs/openapi.json); RFC 6838 structured
# suffixes (application/merge-patch+json, ...) are JSON too.
API_BODY_TYPES = ("application/json",)


def _declared_length(request: HttpRequest) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


class ApiRequestGuardMiddleware:
    """Refuse an API body that is too large (413) or not JSON (415) before anything reads it.

    Django raises ``RequestDataTooBig`` only when the body is read, deep inside the API, and the
    API's parser accepts any declared type; answering here gives one clear error in the API shape.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        length = _declared_length(request)
        if length is None:
            return json_error(400, "bad_request", _("The Content-Length header is not a number."))
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            return json_error(
                413,
                "too_large",
                _("The request body is larger than %(mb)s MB.") % {"mb": limit // (1024 * 1024)},
            )
        if request.method in ("POST", "PUT", "PATCH") and length > 0:
            media = (request.content_type or "").lower()
            if media not in API_BODY_TYPES and not media.endswith("+json"):
                return json_error(
                    415,
                    "unsupported_media_type",
                    _("Send the request body as JSON (Content-Type: application/json)."),
                )
        return self.get_response(request)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


# ``/api/`` answers JSON to a bearer token or a session: it shows no flash messages, and
# django-ninja checks CSRF itself for session-authenticated calls (``SessionAuth`` runs Django's
# CSRF check), so the messages storage and the CSRF middleware are per-request work the API does
# not need (bench/profile_hot.py). Security headers, authentication, two-factor, the request id
# and the audit context still run on every request. Subclasses, so Django's checks (the admin
# needs the messages middleware) still find them.


class PagesOnlyCsrfMiddleware(CsrfViewMiddleware):
    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_api(request):
            return cast(HttpResponse, self.get_response(request))
        return cast(HttpResponse, super().__call__(request))


class PagesOnlyMessageMiddleware(MessageMiddleware):
    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _is_api(request):
            return cast(HttpResponse, self.get_response(request))
        return cast(HttpResponse, super().__call__(request))
