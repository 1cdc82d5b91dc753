"""The application's PostgreSQL role: what it may do to each table, as SQL to grant.

The application never needs to own its tables, and must not: the table owner can disable
the ledger's append-only trigger. It needs SELECT, INSERT, UPDATE and DELETE on the tables it
manages (logging out deletes a session; a login resets its failed attempts), but only
appends to the ledger's, and never deletes a resident (residents move out) or a leave. Archiving old
blocks (manage.py archive_chain) deletes them: run it as the tables' owner, as migrate is;
the application's role only reads the archive's records.
"""

import re

DEFAULT = "SELECT, INSERT, UPDATE, DELETE"
LIMITED = {
    "ledger_archivesegment": "SELECT",
    "ledger_block": "SELECT, INSERT",
    "ledger_chainhead": "SELECT, INSERT, UPDATE",
    "ledger_checkpoint": "SELECT, INSERT",
    "ledger_treenode": "SELECT, INSERT",
    "ledger_verificationrun": "SELECT, INSERT",
    "leaves_leave": "SELECT, INSERT, UPDATE",
    "alerts_alert": "SELECT, INSERT, UPDATE",
    "visitors_visitor": "SELECT, INSERT, UPDATE",
    "residents_resident": "SELECT, INSERT, UPDATE",
}
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def grant_statements(role: str, tables: list[str], *, create: bool = False) -> list[str]:
    if not _NAME.fullmatch(role) or role in ("public", "postgres"):
        raise ValueError(f"role {role!r}: name the application's own role (lowercase, digits, _)")
    statements = []
    if create:
        statements.append(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
            f"THEN CREATE ROLE {role} NOLOGIN; END IF; END $$"
        )
    statements.append(f"GRANT USAGE ON SCHEMA public TO {role}")
    for table in sorted(tables):
        if not _NAME.fullmatch(table):
            raise ValueError(f"unexpected table name {table!r}")
        statements.append(f"REVOKE ALL ON {table} FROM {role}")
        statements.append(f"GRANT {LIMITED.get(table, DEFAULT)} ON {table} TO {role}")
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}")
    return statements
