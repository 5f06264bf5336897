"""Navigation: one entry, "Referrals"; a facilitator lands on its pipeline, a clinic on the
referrals it received (the page chooses by the organisation's kind)."""

from django.utils.translation import gettext_lazy as _

from saisei.core.models import Role
from saisei.core.shell import NavItem

ITEMS = [
    NavItem(
        _("Referrals"),
        "network:pipeline",
        frozenset({Role.COORDINATOR, Role.PHYSICIAN, Role.ORG_ADMIN}),
        order=22,
    ),
]
