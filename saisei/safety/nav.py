from django.utils.translation import gettext_lazy as _

from saisei.core.models import Role
from saisei.core.shell import NavItem

_SAFETY = frozenset(
    {
        Role.PHYSICIAN,
        Role.NURSE,
        Role.QA_MANAGER,
        Role.COMPLIANCE_OFFICER,
        Role.ORG_ADMIN,
        Role.COMMITTEE_REVIEWER,
    }
)

ITEMS = [
    NavItem(_("Adverse events"), "safety:event_list", _SAFETY, order=45),
    NavItem(
        _("Patient reports"),
        "safety:triage",
        frozenset({Role.PHYSICIAN, Role.NURSE, Role.ORG_ADMIN}),
        order=46,
    ),
]
