from __future__ import annotations

import os
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


def serve_at(bind: str) -> None:
    """Links in e-mails point where this server listens (``--port``/``--bind``), unless
    SAISEI_BASE_URL names the public address (production behind a proxy must set it). The
    environment carries it to processes started from here (a worker)."""
    if os.environ.get("SAISEI_BASE_URL"):
        return
    host, _, port = bind.rpartition(":")
    host = host or "127.0.0.1"
    if host in ("0.0.0.0", "::", "[::]"):  # noqa: S104 (a wildcard bind is reached on localhost)
        host = "127.0.0.1"
    url = f"http://{host}:{port}"
    settings.SAISEI_BASE_URL = url
    os.environ["SAISEI_BASE_URL"] = url


class Command(BaseCommand):
    help = (
        "Run the web service: with --production, collect the static files and become gunicorn; "
        "otherwise Django's server."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--production", action="store_true")
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "3"))
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if not opts["production"]:
            serve_at(opts["bind"])
            call_command("runserver", opts["bind"], use_reloader=False)
            return
        if not settings.PRODUCTION:
            raise CommandError(
                "--production needs SAISEI_PRODUCTION=1 (the saisei command sets it)."
            )
        # WhiteNoise serves what collectstatic gathered under STATIC_ROOT.
        call_command("collectstatic", interactive=False, verbosity=0)
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "saisei.wsgi:application",
            "--bind",
            opts["bind"],
            "--workers",
            str(opts["workers"]),
            # Request lines come from Saisei's own log (saisei.request, JSON with request id).
            "--error-logfile",
            "-",
            # Saisei does not use gunicorn's control socket, whose default path under the home
            # directory would be shared by every instance on the host.
            "--no-control-socket",
        ]
        sys.stdout.flush()
        sys.stderr.flush()
        # Become gunicorn (same process id): a supervisor's SIGTERM or Ctrl-C reaches gunicorn's
        # master itself, which stops its workers, instead of a parent that would die alone and
        # leave them running.
        os.execv(sys.executable, argv)  # noqa: S606 - fixed argv, no shell
