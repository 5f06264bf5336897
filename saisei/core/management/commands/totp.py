from __future__ import annotations

from typing import Any

import pyotp
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from saisei.core.models import User


class Command(BaseCommand):
    help = "Demo only: print the current two-factor code of a demo user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **opts: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Not available in production mode.")
        user = User.objects.filter(username=opts["username"]).first()
        if user is None or not user.totp_secret:
            raise CommandError("No such user with two-factor authentication.")
        self.stdout.write(pyotp.TOTP(user.totp_secret).now())
