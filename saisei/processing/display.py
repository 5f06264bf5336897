"""Words for processing values stored as codes: custody stages and near-miss reasons."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy as _

_NEAR_MISS_REASONS = {
    "coi_mismatch": _("The chain-of-identity identifier does not match."),
    "din_mismatch": _("The donation identification number (DIN) does not match."),
    "product_code_mismatch": _("The product code does not match."),
    "unreadable": _("The label could not be read."),
}
# A bedside near-miss stores "rule_code: message; rule_code: message" so QA can count rules;
# readers see the messages only.
_RULE_PREFIX = re.compile(r"(?:^|(?<=; ))[a-z][a-z0-9_]*: ")


def custody_stage_label(value: Any) -> str:
    """A custody stage (``cpc_receipt``) as its label ("CPC receipt")."""
    from saisei.processing.models import CustodyEvent

    try:
        return str(CustodyEvent.Stage(str(value)).label)
    except ValueError:
        return str(value)


def near_miss_reason_text(value: Any) -> str:
    """Why a scan was refused, in words, without the rule codes kept in the record."""
    text = str(value or "")
    label = _NEAR_MISS_REASONS.get(text)
    if label is not None:
        return str(label)
    return _RULE_PREFIX.sub("", text)
