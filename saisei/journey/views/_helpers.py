"""Small helpers shared by the journey views."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from saisei.core.access_log import WEB, access_log_record
from saisei.core.middleware import client_ip
from saisei.core.models import User


class AuthedRequest(HttpRequest):
    """A request behind ``login_required``: its user is a staff ``User``."""

    user: User


def log_read(
    request: AuthedRequest, subject: str, subject_id: Any, *, patient: Any = None, label: str
) -> None:
    """Record in the access log that the signed-in user read a journey record on a page.

    ``subject`` is the kind of record within the journey (``patient``, ``quote_pdf``...);
    every journey page that shows one patient's record calls this once per request.
    """
    access_log_record(
        actor=request.user,
        channel=WEB,
        subject_type=f"journey.{subject}",
        subject_id=subject_id,
        patient=patient,
        label=label,
    )


def ip(request: HttpRequest) -> str | None:
    return client_ip(request)


def stored_text(message: dict[str, Any], language: str) -> str:
    from ..i18n import stored

    return stored(message, language)


def not_found_as_404(view: Any) -> Any:
    """Selectors answer NotFound for other organisations' records; pages show a plain 404."""
    from functools import wraps

    from django.http import Http404

    from saisei.core.errors import NotFound

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404 from None

    return wrapper


def staff_view(view: Any) -> Any:
    from django.contrib.auth.decorators import login_required

    return login_required(not_found_as_404(view))
