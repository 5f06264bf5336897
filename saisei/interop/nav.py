from django.utils.translation import gettext_lazy as _

from saisei.core.models import Role
from saisei.core.shell import NavItem

ITEMS = [
    NavItem(_("FHIR export"), "interop:exports", frozenset({Role.ORG_ADMIN}), order=95),
]
