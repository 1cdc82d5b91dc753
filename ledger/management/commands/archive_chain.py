"""Move the blocks older than a date out of the database: `manage.py archive_chain`."""

from datetime import datetime, time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError
from django.utils import timezone

from ledger.archive import ArchiveError, Plan, chain_archive


class Command(BaseCommand):
    help = (
        "Write the blocks dated before DATE (local midnight) to a compressed archive segment "
        "in DIR with a signed checkpoint of its last block, verify both by reading them "
        "back, then delete those blocks from the database. Exit status: 0 done (or nothing "
        "to archive), 2 could not (nothing deleted)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--before", required=True, metavar="YYYY-MM-DD", help="archive events before this day"
        )
        parser.add_argument(
            "--out", type=Path, required=True, metavar="DIR", help="the archive directory"
        )
        parser.add_argument(
            "--private-key",
            type=Path,
            required=True,
            metavar="PATH",
            help="the checkpoint key (manage.py ledger_checkpoint keygen) that signs the segment",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="say what would be archived; change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = datetime.strptime(options["before"], "%Y-%m-%d").date()
        except ValueError:
            raise CommandError(
                f"--before {options['before']!r} is not a date like 2025-09-01", returncode=2
            ) from None
        before = timezone.make_aware(datetime.combine(day, time.min))
        try:
            pem = options["private_key"].read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read the key: {exc}", returncode=2) from exc
        try:
            result = chain_archive(
                before=before,
                out=options["out"],
                private_key_pem=pem,
                by="archive_chain",
                dry_run=options["dry_run"],
            )
        except (ArchiveError, OSError) as exc:
            raise CommandError(f"nothing archived: {exc}", returncode=2) from exc
        except DatabaseError as exc:
            raise CommandError(f"nothing archived: database error: {exc}", returncode=2) from exc
        if result is None:
            self.stdout.write(f"Nothing to archive: no block before {day} is still stored.")
        elif isinstance(result, Plan):
            self.stdout.write(
                f"Would archive blocks {result.first_index}..{result.last_index} (up to "
                f"{result.last_timestamp}) as {options['out'] / result.file_name}."
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Archived blocks {result.first_index}..{result.last_index} (up to "
                    f"{result.last_timestamp}) to {Path(result.location) / result.file_name}, "
                    "verified, and deleted them from the database."
                )
            )
