from django.utils.translation import gettext_lazy as _

from saisei.core.models import Role
from saisei.core.shell import NavItem

COMPLIANCE = frozenset({Role.COMPLIANCE_OFFICER, Role.ORG_ADMIN, Role.COMMITTEE_REVIEWER})

ITEMS = [
    NavItem(_("Compliance"), "regulatory:dashboard", COMPLIANCE, order=20),
    NavItem(
        _("Provision plans"),
        "regulatory:plan_list",
        frozenset({*COMPLIANCE, Role.PHYSICIAN}),
        order=21,
    ),
    NavItem(_("Obligations"), "regulatory:obligation_list", COMPLIANCE, order=22),
    NavItem(_("Registry"), "regulatory:registry", COMPLIANCE, order=23),
    NavItem(_("Official forms"), "regulatory:forms_home", COMPLIANCE, order=23),
    NavItem(
        _("Clinic duties"),
        "regulatory:duties",
        frozenset({Role.COMPLIANCE_OFFICER, Role.ORG_ADMIN, Role.PHYSICIAN}),
        order=25,
    ),
    NavItem(
        _("Gate refusals"),
        "regulatory:gate_refusal_list",
        frozenset({*COMPLIANCE, Role.QA_MANAGER, Role.PHYSICIAN}),
        order=24,
    ),
]
