"""Indexes for the residents search on PostgreSQL (resident_list(search=...)).

The search matches part of the name or email (UPPER(...) LIKE '%...%'), part of the phone
and the whole room, case-insensitively. Trigram GIN indexes (the pg_trgm extension, which a
database owner may create: it is a trusted extension) serve the partial matches of three
characters or more; an expression index serves the room. Without the right to create the
extension the search still works, by scanning, and the migration says so.
"""

import logging

from django.db import DatabaseError, migrations, transaction

log = logging.getLogger(__name__)

TRIGRAM_INDEXES = {
    "residents_name_trgm": "UPPER(name) gin_trgm_ops",
    "residents_email_trgm": "UPPER(email) gin_trgm_ops",
    "residents_phone_trgm": "phone gin_trgm_ops",
}


def add_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS residents_room_upper_idx "
        "ON residents_resident (UPPER(room))",
        params=None,
    )
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm", params=None)
    except DatabaseError as exc:
        log.warning("pg_trgm not available (%s): resident search will scan the table", exc)
        return
    for name, expression in TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON residents_resident USING gin ({expression})",
            params=None,
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in ["residents_room_upper_idx", *TRIGRAM_INDEXES]:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}", params=None)


class Migration(migrations.Migration):
    dependencies = [("residents", "0009_text_validation")]

    operations = [migrations.RunPython(add_indexes, drop_indexes)]
