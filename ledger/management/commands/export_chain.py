"""Export the chain for an auditor: `manage.py export_chain --out FILE [--from-index N]`."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from ledger.exports import chain_export


class Command(BaseCommand):
    help = (
        "Write the chain as JSON lines (one block per line, then a trailer with the size and "
        "head hash), gzip when FILE ends in .gz, for `python -m ledger.audit FILE`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", type=Path, required=True, metavar="FILE")
        parser.add_argument(
            "--from-index", type=int, default=0, metavar="N", help="export blocks from N on"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["from_index"] < 0:
            raise CommandError("--from-index must be 0 or more", returncode=2)
        try:
            trailer = chain_export(options["out"], from_index=options["from_index"])
        except (OSError, DatabaseError, ValueError) as exc:
            raise CommandError(f"cannot export: {exc}", returncode=2) from exc
        self.stdout.write(
            f"Exported {trailer['blocks']} blocks (from block {trailer['from_index']}; the "
            f"chain has {trailer['size']}, head {trailer['head_hash'] or '-'}) to "
            f"{options['out']}"
        )
