"""Production defaults that are not a setting of Django itself.

- No response that may carry patient data is stored by a browser or a proxy cache: every
  answer except static files gets ``Cache-Control: no-store``.
- The API docs, the OpenAPI schema and the Django admin sit behind the Saisei sign-in (with its
  lockout and two-factor step) when ``SAISEI_STAFF_ONLY_DOCS`` is on (the default in
  production); in demo and development they stay open.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every answer but static files (which hold no patient data)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(self.static_prefix):
            response["Cache-Control"] = "no-store"
        return response


def _to_login(request: HttpRequest, next_url: str) -> HttpResponse:
    return redirect(f"{reverse('core:login')}?{urlencode({'next': next_url})}")


def _signed_in_refusal(request: HttpRequest) -> HttpResponse | None:
    """None when a staff member is signed in with every factor; else where to send them."""
    user = request.user
    if not user.is_authenticated:
        return _to_login(request, request.get_full_path())
    if (user.two_factor_enabled or user.two_factor_required) and not request.session.get("2fa_ok"):
        # The two-factor middleware leaves /api/ alone (tokens carry no second factor); the
        # docs are a page, so they ask for it here.
        return redirect(
            f"{reverse('core:two_factor_verify')}?{urlencode({'next': request.get_full_path()})}"
        )
    return None


def staff_only_docs(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wraps the API docs and schema views (django-ninja's ``docs_decorator``)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if settings.SAISEI_STAFF_ONLY_DOCS:
            refusal = _signed_in_refusal(request)
            if refusal is not None:
                return refusal
        return view(request, *args, **kwargs)

    return wrapper


def admin_login(request: HttpRequest) -> HttpResponse:
    """The admin's sign-in: Saisei's own (lockout, two factors) when docs are staff-only.

    Django's admin form would check only the password; the admin sends here anyone it does not
    let in, so a signed-in user arriving here lacks the staff flag and is refused.
    """
    if not settings.SAISEI_STAFF_ONLY_DOCS:
        return admin.site.login(request)
    if request.user.is_authenticated:
        raise PermissionDenied
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("admin:index")
    return _to_login(request, next_url)
