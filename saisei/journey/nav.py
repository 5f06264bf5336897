"""Navigation entries for the journey screens."""

from django.utils.translation import gettext_lazy as _

from saisei.core.models import Role
from saisei.core.shell import NavItem

ITEMS = [
    NavItem(
        _("Inquiries"),
        "journey:inquiry_queue",
        frozenset({Role.COORDINATOR, Role.PHYSICIAN, Role.ORG_ADMIN}),
        order=20,
    ),
    NavItem(
        _("Patients"),
        "journey:patient_list",
        frozenset({Role.COORDINATOR, Role.PHYSICIAN, Role.NURSE, Role.ORG_ADMIN}),
        order=21,
    ),
]
