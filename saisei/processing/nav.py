from django.utils.translation import gettext_lazy as _

from saisei.core.models import Role
from saisei.core.shell import NavItem

_CPC = frozenset({Role.CPC_TECHNICIAN, Role.QA_MANAGER, Role.ORG_ADMIN})
_CLINIC = frozenset(
    {Role.CPC_TECHNICIAN, Role.QA_MANAGER, Role.NURSE, Role.PHYSICIAN, Role.ORG_ADMIN}
)

ITEMS = [
    NavItem(_("CPC board"), "processing:board", _CPC, order=30),
    NavItem(_("Doses"), "processing:doses", _CLINIC, order=31),
    NavItem(_("Deviations"), "processing:deviations", _CPC, order=32),
]
ITEMS.append(
    NavItem(
        _("Donors"),
        "processing:donors",
        frozenset({Role.CPC_TECHNICIAN, Role.QA_MANAGER, Role.PHYSICIAN}),
        order=33,
    )
)
