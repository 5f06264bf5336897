from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the web service: gunicorn with --production, otherwise Django's server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--production", action="store_true")
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "3"))
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["production"]:
            cmd = [
                sys.executable,
                "-m",
                "gunicorn",
                "saisei.wsgi:application",
                "--bind",
                opts["bind"],
                "--workers",
                str(opts["workers"]),
                "--access-logfile",
                "-",
            ]
            raise SystemExit(subprocess.call(cmd, env={**os.environ, "SAISEI_PRODUCTION": "1"}))
        call_command("runserver", opts["bind"], use_reloader=False)
