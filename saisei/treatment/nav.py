from django.utils.translation import gettext_lazy as _

from saisei.core.models import Role
from saisei.core.shell import NavItem

ITEMS = [
    NavItem(
        _("Infusions"),
        "treatment:today",
        frozenset({Role.NURSE, Role.PHYSICIAN, Role.ORG_ADMIN}),
        order=40,
    ),
]
