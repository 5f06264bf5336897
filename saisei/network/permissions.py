"""Who may work a facilitator's referrals and who may answer them at a partner clinic."""

from __future__ import annotations

from functools import partial
from typing import Any

from saisei.core.models import Organisation, Role
from saisei.core.permissions import is_staff_user
from saisei.core.roles import action, allowed

_action = partial(action, app="network")

AGREEMENT_MANAGE = _action(
    "partner_agreement.manage",
    label="Record or end a facilitator's written agreement with a partner clinic",
    roles=(Role.ORG_ADMIN,),
    why="The agreement fixes the commission and what data may leave the facilitator; it is the "
    "organisation's contract, not a coordinator's choice.",
)
REFERRAL_MANAGE = _action(
    "referral.manage",
    label="Open a referral, share it with a clinic the family consented to, revoke a share",
    roles=(Role.COORDINATOR, Role.ORG_ADMIN),
    why="The facilitator's coordinators work the family's inquiry; a share carries exactly what the "
    "family consented to (APPI Art. 27, 28).",
)
REFERRAL_ANSWER = _action(
    "referral.answer",
    label="Answer a referral at the clinic: quote or decline with a reason",
    roles=(Role.COORDINATOR, Role.PHYSICIAN, Role.ORG_ADMIN),
    why="The clinic's coordinators quote under the clinic's own plan registry; a physician may "
    "decline a patient the plan cannot treat.",
)

READ_ROLES = (Role.COORDINATOR, Role.PHYSICIAN, Role.ORG_ADMIN, Role.COMPLIANCE_OFFICER)


def _org_kind(user: Any) -> str | None:
    org = getattr(user, "organisation", None)
    return org.kind if org is not None else None


def is_facilitator(user: Any) -> bool:
    return _org_kind(user) == Organisation.Kind.FACILITATOR


def can_view_referrals(user: Any) -> bool:
    return is_staff_user(user) and user.has_role(*READ_ROLES)


def can_manage_agreement(user: Any) -> bool:
    return is_facilitator(user) and allowed(user, AGREEMENT_MANAGE)


def can_manage_referral(user: Any) -> bool:
    return is_facilitator(user) and allowed(user, REFERRAL_MANAGE)


def can_answer_referral(user: Any) -> bool:
    return _org_kind(user) == Organisation.Kind.CLINIC_GROUP and allowed(user, REFERRAL_ANSWER)
