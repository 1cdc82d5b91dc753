"""Grant the application's database role what it needs and nothing more (PostgreSQL)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

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
        try:
            statements = grant_statements(
                options["role"], connection.introspection.table_names(), create=options["create"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["dry_run"]:
            self.stdout.write(";\n".join(statements) + ";")
            return
        # One transaction: the running servers see the old grants or the new, never none.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [options["role"]])
            if cursor.fetchone() is None and not options["create"]:
                raise CommandError(f"there is no role {options['role']!r} (or pass --create)")
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(self.style.SUCCESS(f"Granted {options['role']} its privileges."))
