"""Core web pages: sign-in with throttling and two-factor, home per role, audit ledger."""

from __future__ import annotations

import base64
import datetime as dt
import io
from functools import wraps
from typing import Any

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from saisei.core import permissions, selectors, services
from saisei.core.errors import DomainError, Forbidden, NotFound
from saisei.core.forms import AccessLogFilterForm
from saisei.core.middleware import client_ip
from saisei.core.models import Notification
from saisei.core.paging import BoundedPaginator
from saisei.core.permissions import staff_user
from saisei.core.shell import worklists_for
from saisei.core.timezones import TOKYO


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Six-digit code"),
        max_length=10,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def _safe_next(request: HttpRequest, default: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        return nxt
    return default


def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        ip = client_ip(request)
        if services.login_is_throttled(username=username, client_ip=ip):
            error = _(
                "Too many failed attempts. Wait 15 minutes and try again, or ask your administrator."
            )
        else:
            user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if user is None or not getattr(user, "organisation_id", None):
                services.login_failure_record(username=username, client_ip=ip)
                error = _("The username or password is not correct.")
            else:
                login(request, user)
                services.login_success_record(user=user)
                request.session["2fa_ok"] = False
                nxt = _safe_next(request, reverse("core:home"))
                if user.two_factor_enabled:
                    return redirect(f"{reverse('core:two_factor_verify')}?next={nxt}")
                if user.two_factor_required:
                    return redirect("core:two_factor_setup")
                request.session["2fa_ok"] = True
                return HttpResponseRedirect(nxt)
    status = 200 if error is None else 400 if request.method == "POST" else 200
    return render(
        request,
        "core/login.html",
        {"form": form, "error": error, "next": request.GET.get("next", "")},
        status=status,
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("core:login")


@login_required
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    if not user.two_factor_enabled:
        return redirect("core:two_factor_setup")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.login_is_throttled(username=user.username, client_ip=client_ip(request)):
            form.add_error("code", _("Too many failed attempts. Wait 15 minutes and try again."))
        elif services.totp_consume(user=user, code=form.cleaned_data["code"]):
            request.session["2fa_ok"] = True
            return HttpResponseRedirect(_safe_next(request, reverse("core:home")))
        else:
            services.login_failure_record(username=user.username, client_ip=client_ip(request))
            form.add_error("code", _("That code is not valid."))
    return render(
        request, "core/two_factor_verify.html", {"form": form, "next": request.GET.get("next", "")}
    )


def _qr_svg(data: str) -> str:
    img = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buf = io.BytesIO()
    img.save(buf)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


@login_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    if user.two_factor_enabled and not request.session.get("2fa_ok"):
        return redirect("core:two_factor_verify")
    if (
        request.method == "GET"
        and (not user.totp_secret or user.two_factor_enabled)
        and "restart" in request.GET
    ):
        services.totp_begin(user=user)
    if not user.totp_secret:
        services.totp_begin(user=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.totp_confirm(user=user, code=form.cleaned_data["code"])
        except DomainError as exc:
            form.add_error("code", str(exc.message))
        else:
            request.session["2fa_ok"] = True
            return redirect("core:home")
    uri = services.totp_provisioning_uri(user=user)
    return render(
        request,
        "core/two_factor_setup.html",
        {
            "form": form,
            "secret": user.totp_secret,
            "qr": _qr_svg(uri),
            "enabled": user.two_factor_enabled,
            "required": user.two_factor_required,
        },
    )


@login_required
def home(request: HttpRequest) -> HttpResponse:
    lists = []
    for wl in worklists_for(staff_user(request)):
        lists.append(
            {
                "key": wl.key,
                "title": wl.title,
                "items": wl.items(staff_user(request)),
                "empty_text": wl.empty_text,
            }
        )
    return render(request, "core/home.html", {"worklists": lists})


@login_required
def audit_page(request: HttpRequest) -> HttpResponse:
    if not permissions.can_view_audit(staff_user(request)):
        return render(request, "core/forbidden.html", status=403)
    qs = selectors.audit_entry_list(
        actor=staff_user(request),
        action=request.GET.get("action") or None,
        subject_id=request.GET.get("subject_id") or None,
        actor_username=request.GET.get("actor") or None,
    )
    page = BoundedPaginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "core/audit.html", {"page": page, "filters": request.GET})


def _tokyo_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=TOKYO)


@login_required
def access_log_page(request: HttpRequest) -> HttpResponse:
    """Who read which patient's record: search by patient, user and days (Japan time)."""
    actor = staff_user(request)
    if not permissions.can_view_access_log(actor):
        return render(request, "core/forbidden.html", status=403)
    form = AccessLogFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {
            "patient": data["patient"].strip() or None,
            "user": data["user"].strip() or None,
            "since": _tokyo_midnight(data["date_from"]) if data["date_from"] else None,
            "until": _tokyo_midnight(data["date_to"] + dt.timedelta(days=1))
            if data["date_to"]
            else None,
        }
    elif form.is_bound:
        # An invalid search shows its errors and no rows, never every row.
        return render(request, "core/access_log.html", {"form": form, "page": None}, status=400)
    qs = selectors.access_log_list(actor=actor, **filters)
    page = BoundedPaginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "core/access_log.html", {"form": form, "page": page})


@login_required
def notifications_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        n = Notification.objects.filter(
            user=staff_user(request), external_id=request.POST.get("id", "")
        ).first()
        if n:
            services.notification_mark_read(actor=staff_user(request), notification=n)
        return redirect("core:notifications")
    items = selectors.notification_list(actor=staff_user(request))[:100]
    return render(request, "core/notifications.html", {"items": items})


def staff_page(view: Any) -> Any:
    """A staff page: signed in; an unknown or out-of-scope id is a 404, a refused role a 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404 from exc
        except Forbidden as exc:
            raise PermissionDenied from exc

    return wrapper


def render_form_error(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    exc: DomainError,
    form: forms.Form | None = None,
) -> HttpResponse:
    """Show a service refusal on a form: field errors on their fields, the rest at the top."""
    if form is not None:
        for field, msg in exc.form_errors():
            form.add_error(field if field in form.fields else None, msg)
    context = {**context, "form": form, "error": exc}
    # A permission refusal stays a 403 on the page as in the API; other refusals are form errors.
    status = exc.status_code if exc.status_code == 403 or exc.status_code >= 500 else 400
    return render(request, template, context, status=status)
