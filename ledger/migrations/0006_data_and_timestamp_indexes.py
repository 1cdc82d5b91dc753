from django.db import migrations, models

# The ledger's field filters (mode, gate, whatever apps register) match keys of the data.
# On PostgreSQL a GIN index over the data read as jsonb serves them ("data::jsonb @> ...",
# see ledger.selectors.with_field) without naming any key; SQLite matches the JSON text.
# fastupdate off: each append updates the index itself, instead of queueing entries that
# some later append (holding the chain's lock) must merge all at once.
GIN_SQL = (
    "CREATE INDEX IF NOT EXISTS ledger_block_data_gin "
    "ON ledger_block USING gin ((data::jsonb) jsonb_path_ops) WITH (fastupdate = off)"
)
DROP_GIN_SQL = "DROP INDEX IF EXISTS ledger_block_data_gin"


def add_gin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GIN_SQL, params=None)


def drop_gin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_GIN_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0005_export_permission"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="block",
            index=models.Index(fields=["timestamp"], name="ledger_block_timestamp_idx"),
        ),
        migrations.RunPython(add_gin, drop_gin),
    ]
