from django.utils.translation import gettext_lazy as _

from saisei.core.models import Role
from saisei.core.shell import NavItem

ITEMS = [
    NavItem(_("Home"), "core:home", order=0),
    NavItem(
        _("Audit ledger"),
        "core:audit",
        frozenset(
            {Role.ORG_ADMIN, Role.COMPLIANCE_OFFICER, Role.QA_MANAGER, Role.COMMITTEE_REVIEWER}
        ),
        order=90,
    ),
    NavItem(
        _("Access log"),
        "core:access_log",
        frozenset({Role.ORG_ADMIN, Role.COMPLIANCE_OFFICER}),
        order=91,
    ),
]
ITEMS.append(
    NavItem(
        _("Record retention"),
        "core:records",
        frozenset({Role.ORG_ADMIN, Role.COMPLIANCE_OFFICER}),
        order=92,
    )
)
