"""The patient and caregiver portal's session: a redeemed magic link opens one patient's records."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .models import Patient, PortalAccess

SESSION_KEY = "journey_portal_access"
PORTAL_SESSION_SECONDS = 60 * 60 * 4


def portal_login(request: HttpRequest, access: PortalAccess) -> None:
    """Bind the browser session to the patient of a redeemed link (no staff account involved)."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = access.pk
    request.session.set_expiry(PORTAL_SESSION_SECONDS)


def portal_logout(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)


def portal_patient(request: HttpRequest) -> Patient | None:
    """The patient whose records this portal session may see, or None (other apps call this)."""
    cached: Any = getattr(request, "_journey_portal_patient", False)
    if cached is not False:
        return cached
    access_id = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    patient = None
    if access_id:
        access = (
            PortalAccess.objects.select_related("patient")
            .filter(pk=access_id, revoked_at__isnull=True, used_at__isnull=False)
            .first()
        )
        if access is not None and access.patient.voided_at is None:
            patient = access.patient
    request._journey_portal_patient = patient  # type: ignore[attr-defined]
    return patient
