"""Template tags other apps' pages use to show referrals without importing the network app."""

from __future__ import annotations

from typing import Any

from django import template

from .. import rules, selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def received_referrals(context: Any) -> list[Any]:
    """The live referrals shared with the signed-in clinic user's organisation (for the inquiry
    queue, marked with their facilitator)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    return list(selectors.shares_for_clinic(actor=user)[:50])


@register.simple_tag
def facilitator_partners(org: Any) -> list[dict[str, str]]:
    """A facilitator's partner clinics in force today, with their country, for its public
    inquiry page (the family learns where data may go before consenting clinic by clinic)."""
    from ..services import partners_live

    if getattr(org, "kind", None) != "facilitator":
        return []
    return [
        {
            "name": a.clinic.name,
            "country": a.clinic.country,
            "country_name": rules.country_name(a.clinic.country),
        }
        for a in partners_live(org)
    ]
