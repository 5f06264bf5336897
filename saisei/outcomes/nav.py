from django.utils.translation import gettext_lazy as _

from saisei.core.models import Role
from saisei.core.shell import NavItem

ITEMS = [
    NavItem(
        _("Outcomes"),
        "outcomes:index",
        frozenset({Role.PHYSICIAN, Role.NURSE, Role.COORDINATOR, Role.ORG_ADMIN}),
        order=60,
    ),
    NavItem(
        _("Cohorts"),
        "outcomes:cohort_index",
        frozenset(
            {Role.PHYSICIAN, Role.ORG_ADMIN, Role.COMPLIANCE_OFFICER, Role.COMMITTEE_REVIEWER}
        ),
        order=61,
    ),
    NavItem(
        _("Outcome references"),
        "outcomes:references",
        frozenset({Role.PHYSICIAN, Role.ORG_ADMIN}),
        order=62,
    ),
]
