from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Fill the database with a synthetic network for scale tests (idempotent per seed). "
        "Every name and code is marked SYNTH / S… so it is never mistaken for a patient."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--patients", type=int, required=True)
        parser.add_argument("--organisations", type=int, default=1)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--batch-size", type=int, default=250)

    def handle(self, *args: Any, **opts: Any) -> None:
        from saisei.seed import seed

        if opts["patients"] < 0 or opts["organisations"] < 1 or opts["batch_size"] < 1:
            raise CommandError(
                "--patients must be 0 or more, --organisations and --batch-size 1 or more."
            )
        call_command("migrate", interactive=False, verbosity=0)
        result = seed(
            patients=opts["patients"],
            organisations=opts["organisations"],
            seed=opts["seed"],
            batch_size=opts["batch_size"],
        )
        self.stdout.write(
            f"Seeded {result.patients_added} new synthetic patients in {result.organisations} "
            f"organisations: {result.rows} rows, {result.audit_entries} audit entries, "
            f"{result.seconds:.1f} s."
        )
