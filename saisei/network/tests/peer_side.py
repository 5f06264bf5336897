"""The clinic's own installation in the two-installation test, driven step by step from the test
(``python -m saisei.network.tests.peer_side STEP JSON``); prints one JSON line.

Steps: ``setup`` makes the database and a clinic with a plan in force, trusts the facilitator's
installation and records the agreement; ``quote`` answers the received referral; ``state`` tells
what the clinic sees.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from decimal import Decimal
from typing import Any


def setup(args: dict[str, Any]) -> dict[str, Any]:
    from django.core.management import call_command
    from django.utils import timezone

    from saisei.core.models import Organisation
    from saisei.network import exchange, services
    from saisei.network.tests.conftest import FIELDS, make_clinic

    call_command("migrate", run_syncdb=True, verbosity=0)
    clinic = make_clinic("clinic-a", "Clinic A", "PB3260001", 35)
    facilitator = Organisation.objects.create(
        slug="bridge", name="Bridge Care", kind="facilitator", country="CN"
    )
    exchange.peer_add(
        organisation=clinic["org"],
        stands_for=facilitator,
        peer_id=args["peer_id"],
        inbox_url=args["inbox_url"],
        public_key=args["public_key"],
    )
    today = timezone.localdate()
    services.agreement_record_at_clinic(
        clinic=clinic["org"],
        facilitator=facilitator,
        reference=args["agreement"],
        commission_kind="percent",
        commission_percent=Decimal("10"),
        commission_payer="patient",
        shareable_fields=FIELDS,
        recipient_measures="Access limited to the clinic's coordinators and physicians.",
        valid_from=today - dt.timedelta(days=10),
        valid_until=today + dt.timedelta(days=365),
    )
    return {"ok": True}


def _staff() -> Any:
    from saisei.core.models import User

    return User.objects.get(username="clinic-a-coord")


def quote(args: dict[str, Any]) -> dict[str, Any]:
    from saisei.journey.models import PriceList, TreatmentPackage
    from saisei.network import selectors, services

    staff = _staff()
    share = selectors.shares_for_clinic(actor=staff).get(remote_id=args["share"])
    seen = sorted(r["field"] for r in selectors.shared_record(share)["fields"])
    share = services.share_quote(
        actor=staff,
        share=share,
        package=TreatmentPackage.objects.get(organisation=staff.organisation),
        price_list=PriceList.objects.get(organisation=staff.organisation),
    )
    assert share.quote is not None
    return {"seen": seen, "quote": share.quote.number, "total_jpy": share.quote.total_jpy}


def state(args: dict[str, Any]) -> dict[str, Any]:
    from saisei.core.models import AuditEntry
    from saisei.network import selectors
    from saisei.network.models import PeerMessage, Share

    staff = _staff()
    share = Share.objects.select_related("quote").get(remote_id=args["share"])
    return {
        "status": share.status,
        "quote_status": share.quote.status if share.quote else None,
        "visible": selectors.shares_for_clinic(actor=staff).filter(pk=share.pk).exists(),
        "out": sorted(f"{m.type}:{m.status}" for m in PeerMessage.objects.filter(direction="out")),
        "refused": AuditEntry.objects.filter(action="peer_message.refuse").count(),
    }


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saisei.network.tests.peer_settings")
    import django

    django.setup()
    step, args = sys.argv[1], json.loads(sys.argv[2])
    result = {"setup": setup, "quote": quote, "state": state}[step](args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
