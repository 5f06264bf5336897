"""The ``saisei`` console command: Django management plus demo, serve, worker, token, audit."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["serve"] and "--production" in args:
        os.environ["SAISEI_PRODUCTION"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saisei.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["saisei", *args])


if __name__ == "__main__":
    main()
