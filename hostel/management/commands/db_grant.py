"""Grant the application's database role what it needs and nothing more (PostgreSQL)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from hostel.dbroles import grant_statements


class Command(BaseCommand):
    help = (
        "Run as the role that owns the tables, after every `migrate`: grants ROLE the "
        "privileges the application needs (the ledger's tables append-only, residents never "
        "deleted) and nothing more. --dry-run prints the SQL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", help="the role the application servers connect as")
        parser.add_argument("--dry-run", action="store_true", help="print the SQL only")
        parser.add_argument(
            "--create", action="store_true", help="create the role first (NOLOGIN) if missing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("db_grant is for PostgreSQL; SQLite has no roles")
        statements = grant_statements(
            options["role"], connection.introspection.table_names(), create=options["create"]
        )
        if options["dry_run"]:
            self.stdout.write(";\n".join(statements) + ";")
            return
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(self.style.SUCCESS(f"Granted {options['role']} its privileges."))
