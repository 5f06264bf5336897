from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saisei.core.models import Organisation
from saisei.core.retention import missing_rules, retention_report


class Command(BaseCommand):
    help = (
        "Retention report: per record class the period, its start event and source, how many "
        "records the organisation holds and the earliest day one of them may be disposed of."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        report = sub.add_parser("report")
        report.add_argument("organisation", nargs="?", help="slug or name (default: every one)")

    def handle(self, *args: Any, **opts: Any) -> None:
        orgs = Organisation.objects.order_by("name")
        if opts.get("organisation"):
            orgs = orgs.filter(slug=opts["organisation"]) | orgs.filter(name=opts["organisation"])
            if not orgs.exists():
                raise CommandError(f"No organisation {opts['organisation']!r}.")
        for org in orgs:
            self.stdout.write(f"# {org.name}")
            self.stdout.write(
                "class\tyears\tcertain\tstarts from\trecords\tvoided\tearliest disposal"
            )
            for row in retention_report(organisation=org):
                self.stdout.write(
                    f"{row.model}\t{row.rule.years}\t{'yes' if row.rule.certain else 'UNCERTAIN'}\t"
                    f"{row.rule.start.code}\t{row.count}\t{row.voided}\t"
                    f"{row.earliest_purge.isoformat() if row.earliest_purge else '-'}"
                )
        missing = missing_rules()
        if missing:
            raise CommandError("Record classes with no retention period: " + ", ".join(missing))
