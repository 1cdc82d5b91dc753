"""Delete visitors' photos past VISITOR_RETENTION_DAYS (cron, daily)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from visitors.services import visitor_photos_purge


class Command(BaseCommand):
    help = (
        "Delete the photos of visitors checked in more than VISITOR_RETENTION_DAYS ago, "
        "with one ledger event saying how many."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        purge = visitor_photos_purge(dry_run=options["dry_run"])
        verb = "Would delete" if options["dry_run"] else "Deleted"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} {purge.count} visitor photo(s) of visits before "
                f"{purge.before:%Y-%m-%d %H:%M}."
            )
        )
