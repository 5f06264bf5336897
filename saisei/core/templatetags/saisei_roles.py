"""``{% if request.user|may:"lot.release" %}``: show a form only to the roles that can use it.

The filter reads the same role matrix (``saisei.core.roles``) the services check, so a page
cannot offer what the server would refuse. It only hides: the server check stays. An action code
the matrix does not know answers False (fail closed); a test checks every code the templates use.
"""

from __future__ import annotations

from typing import Any

from django import template

from saisei.core.roles import allowed, load_matrix

register = template.Library()


@register.filter
def may(user: Any, code: str) -> bool:
    """Whether ``user`` holds a role the action ``code`` of the role matrix allows."""
    act = load_matrix().get(code)
    return act is not None and allowed(user, act)


@register.filter
def can(user: Any, name: str) -> bool:
    """``user|can:"journey.manage_quote"`` asks ``saisei.journey.permissions.can_manage_quote``.

    For the apps whose permissions are functions rather than rows of the matrix; an unknown app
    or function answers False.
    """
    import importlib

    from saisei.core.catalogues import APPS

    app, _, verb = name.partition(".")
    if app not in APPS or not verb.isidentifier():
        return False
    try:
        module = importlib.import_module(f"saisei.{app}.permissions")
    except ModuleNotFoundError:
        return False
    check = getattr(module, f"can_{verb}", None)
    return bool(callable(check) and check(user))
