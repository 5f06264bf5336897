"""Price lists in JPY for an institution, valid between two dates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from saisei.core.audit import audit_record
from saisei.core.models import User

from .. import permissions as perms
from ..models import (
    PriceItem,
    PriceList,
)
from ._common import ValidationFailed, require

PRICE_KINDS = (
    "consultation",
    "tests",
    "harvest",
    "culture_processing",
    "infusion",
    "follow_up",
    "assessment",
    "interpreter_per_day",
    "guarantor_fee",
)


def price_list_create(
    *,
    actor: User,
    institution: Any,
    name: str,
    valid_from: dt.date,
    valid_until: dt.date,
    prices: dict[str, int],
    tax_rate: Decimal = Decimal("0.10"),
    prices_include_tax: bool = False,
) -> PriceList:
    """A price list in JPY for one institution, valid between two dates."""
    require(perms.can_manage_prices, actor, institution)
    if valid_until < valid_from:
        raise ValidationFailed(
            "invalid_validity",
            _("The end of validity is before its start."),
            {"valid_until": [_("Before the start.")]},
        )
    missing = [
        k
        for k in ("consultation", "tests", "harvest", "culture_processing", "infusion")
        if k not in prices
    ]
    bad = [k for k, v in prices.items() if k not in PRICE_KINDS or not isinstance(v, int) or v < 0]
    if missing or bad:
        raise ValidationFailed(
            "invalid_prices",
            _("Each price must be a whole number of yen for a known item."),
            {k: [_("Required.")] for k in missing} | {k: [_("Invalid.")] for k in bad},
        )
    with transaction.atomic():
        pl = PriceList.objects.create(
            organisation=institution.organisation,
            institution=institution,
            name=name,
            valid_from=valid_from,
            valid_until=valid_until,
            tax_rate=tax_rate,
            prices_include_tax=prices_include_tax,
        )
        PriceItem.objects.bulk_create(
            [
                PriceItem(
                    organisation=institution.organisation,
                    price_list=pl,
                    kind=k,
                    label=k,
                    unit_price_jpy=v,
                )
                for k, v in prices.items()
            ]
        )
        audit_record(
            actor=actor,
            organisation=institution.organisation,
            action="price_list.create",
            subject=pl,
            changes={"name": name, "prices": prices, "valid_until": valid_until},
        )
    return pl
