from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from saisei.core.shell import nav_for


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not getattr(user, "organisation_id", None):
        return {"nav": [], "unread_notifications": 0}
    return {
        "nav": nav_for(user),
        "unread_notifications": user.notifications.filter(read_at__isnull=True).count(),
    }
