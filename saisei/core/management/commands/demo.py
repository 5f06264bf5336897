from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.test.utils import override_settings

from saisei.core.demo import DEMO_PASSWORD, load_demo
from saisei.core.management.commands.serve import serve_at


class Command(BaseCommand):
    help = (
        "Create or migrate the database, load the demo data (idempotent), print logins, and serve."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-serve", action="store_true", help="Only prepare the database and data."
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        serve_at(f"127.0.0.1:{opts['port']}")
        call_command("migrate", interactive=False, verbosity=0)
        # Demo e-mails (inquiry confirmations, magic links) go to files, not over the logins.
        mail_dir = settings.DATA_DIR / "mail"
        with override_settings(
            EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
            EMAIL_FILE_PATH=str(mail_dir),
        ):
            ctx = load_demo(stdout=self.stdout)
        self.stdout.write(f"Demo e-mails (confirmations, portal magic links) are in {mail_dir}")
        self.stdout.write(self.style.SUCCESS("\nSaisei demo data is ready."))
        self.stdout.write(f"Sign in at {settings.SAISEI_BASE_URL}/ with password: {DEMO_PASSWORD}")
        for role, user in ctx.users.items():
            extra = ""
            if user.two_factor_enabled:
                extra = f"  (two-factor: run `saisei totp {user.username}` for the current code; key {user.totp_secret})"
            self.stdout.write(f"  {role:<20} username: {user.username}{extra}")
        self.stdout.write("API docs: /api/v1/docs   ·   API token: saisei token create physician")
        if not opts["no_serve"]:
            call_command(
                "runserver", f"127.0.0.1:{opts['port']}", use_reloader=False, skip_checks=True
            )
