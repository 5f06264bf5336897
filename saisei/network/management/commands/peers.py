"""``saisei peers``: this installation's identity, and the peer installations it trusts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saisei.core.errors import DomainError
from saisei.core.models import Organisation
from saisei.network import exchange, peering, services
from saisei.network.models import Peer, PeerMessage


class Command(BaseCommand):
    help = (
        "Show this installation's id and public key; add, list or deactivate trusted peer "
        "installations; record a clinic's agreement with a facilitator on another "
        "installation; send the messages waiting (decision record 0030)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("show", help="This installation's id and public key (give both to peers).")
        add = sub.add_parser("add", help="Trust a peer installation for one organisation here.")
        add.add_argument("--org", required=True, help="Our organisation's slug.")
        add.add_argument(
            "--stands-for", required=True, help="Slug of the organisation the peer stands for."
        )
        add.add_argument("--name", help="Create that organisation with this name if missing.")
        add.add_argument("--kind", choices=["clinic_group", "facilitator"])
        add.add_argument("--country", default="JP")
        add.add_argument("--id", required=True, dest="peer_id")
        add.add_argument("--url", required=True, help="The peer's inbox URL for our organisation.")
        add.add_argument("--key", required=True, help="The peer's public key (base64url).")
        sub.add_parser("list")
        off = sub.add_parser("deactivate")
        off.add_argument("--org", required=True)
        off.add_argument("--id", required=True, dest="peer_id")
        ag = sub.add_parser(
            "agreement", help="At a clinic: record its agreement with a facilitator peer."
        )
        ag.add_argument("--org", required=True, help="The clinic's slug.")
        ag.add_argument("--facilitator", required=True, help="The facilitator's slug here.")
        ag.add_argument("--reference", required=True)
        ag.add_argument("--percent")
        ag.add_argument("--fixed-jpy", type=int)
        ag.add_argument("--payer", choices=["clinic", "patient"], required=True)
        ag.add_argument("--fields", required=True, help="Comma-separated shareable fields.")
        ag.add_argument("--measures", required=True)
        ag.add_argument("--from", dest="valid_from", required=True)
        ag.add_argument("--until", dest="valid_until", required=True)
        sub.add_parser("send", help="Try once more every message waiting to be sent.")

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["action"]
        if action == "show":
            me = peering.identity()
            self.stdout.write(f"id: {me.id}\npublic key: {me.public_key}")
        elif action == "add":
            self._add(opts)
        elif action == "list":
            for p in Peer.objects.select_related("organisation", "stands_for"):
                state = "active" if p.active else "inactive"
                self.stdout.write(
                    f"{p.organisation.slug:<16} {p.stands_for.slug:<16} {p.peer_id} "
                    f"{p.inbox_url} {state}"
                )
        elif action == "deactivate":
            n = Peer.objects.filter(
                organisation__slug=opts["org"], peer_id=opts["peer_id"], active=True
            ).update(active=False)
            if not n:
                raise CommandError("No such active peer.")
            self.stdout.write("Deactivated.")
        elif action == "agreement":
            self._agreement(opts)
        else:
            pending = PeerMessage.objects.filter(
                direction=PeerMessage.Direction.OUT, status=PeerMessage.Status.PENDING
            ).order_by("created_at")
            for m in pending:
                self.stdout.write(f"{m.type} {m.message_id}: {exchange.deliver(m.pk)}")

    def _org(self, slug: str) -> Organisation:
        org = Organisation.objects.filter(slug=slug).first()
        if org is None:
            raise CommandError(f"No organisation {slug!r}.")
        return org

    def _add(self, opts: dict[str, Any]) -> None:
        org = self._org(opts["org"])
        party = Organisation.objects.filter(slug=opts["stands_for"]).first()
        if party is None:
            if not (opts["name"] and opts["kind"]):
                raise CommandError("Unknown --stands-for; give --name and --kind to create it.")
            party = Organisation.objects.create(
                slug=opts["stands_for"],
                name=opts["name"],
                kind=opts["kind"],
                country=opts["country"].upper(),
            )
        try:
            peer = exchange.peer_add(
                organisation=org,
                stands_for=party,
                peer_id=opts["peer_id"],
                inbox_url=opts["url"],
                public_key=opts["key"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Trusted {peer.peer_id} for {party.slug} at {org.slug}.")

    def _agreement(self, opts: dict[str, Any]) -> None:
        try:
            percent = Decimal(opts["percent"]) if opts["percent"] is not None else None
            valid_from = dt.date.fromisoformat(opts["valid_from"])
            valid_until = dt.date.fromisoformat(opts["valid_until"])
        except (InvalidOperation, ValueError) as exc:
            raise CommandError(f"Bad value: {exc}") from exc
        try:
            agreement = services.agreement_record_at_clinic(
                clinic=self._org(opts["org"]),
                facilitator=self._org(opts["facilitator"]),
                reference=opts["reference"],
                commission_kind="percent" if percent is not None else "fixed",
                commission_percent=percent,
                commission_fixed_jpy=opts["fixed_jpy"],
                commission_payer=opts["payer"],
                shareable_fields=[f.strip() for f in opts["fields"].split(",") if f.strip()],
                recipient_measures=opts["measures"],
                valid_from=valid_from,
                valid_until=valid_until,
            )
        except DomainError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(f"Recorded agreement {agreement.reference}.")
