from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saisei.core.models import ApiToken, User
from saisei.core.services import token_create, token_revoke


class Command(BaseCommand):
    help = "Create or revoke API tokens (stored hashed; the raw token is printed once)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create")
        create.add_argument("username")
        create.add_argument("--label", default="")
        revoke = sub.add_parser("revoke")
        revoke.add_argument("prefix", help="The first 12 characters of the token, as listed.")
        revoke.add_argument("--reason", default="revoked from the command line")
        sub.add_parser("list")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "create":
            user = User.objects.filter(username=opts["username"]).first()
            if user is None:
                raise CommandError(f"No user named {opts['username']!r}.")
            _, raw = token_create(actor=None, user=user, label=opts["label"])
            self.stdout.write(raw)
        elif opts["action"] == "revoke":
            token = ApiToken.objects.filter(
                prefix=opts["prefix"][:12], revoked_at__isnull=True
            ).first()
            if token is None:
                raise CommandError("No active token with that prefix.")
            token_revoke(actor=None, token=token, reason=opts["reason"])
            self.stdout.write(f"Revoked {token.prefix}…")
        else:
            for t in ApiToken.objects.select_related("user").order_by("created_at"):
                state = "revoked" if t.revoked_at else "active"
                self.stdout.write(f"{t.prefix}…  {t.user.username:<20} {t.label:<20} {state}")
