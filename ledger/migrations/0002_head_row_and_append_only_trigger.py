"""Create the chain's head row; on PostgreSQL, make ledger_block append-only in the database.

The trigger refuses UPDATE, DELETE and TRUNCATE for every role but cannot stop the table's
owner from disabling it: run the application as a role that does not own the tables
(README, "Deploying on PostgreSQL"). Tampering that gets past it is what chain_verify() is for.
"""

from django.db import migrations

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION ledger_block_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_block is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER ledger_block_no_update_delete
    BEFORE UPDATE OR DELETE ON ledger_block
    FOR EACH ROW EXECUTE FUNCTION ledger_block_append_only();
CREATE TRIGGER ledger_block_no_truncate
    BEFORE TRUNCATE ON ledger_block
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_block_append_only();
"""

DROP_TRIGGER_SQL = """
DROP TRIGGER IF EXISTS ledger_block_no_truncate ON ledger_block;
DROP TRIGGER IF EXISTS ledger_block_no_update_delete ON ledger_block;
DROP FUNCTION IF EXISTS ledger_block_append_only();
"""


def create_head(apps, schema_editor):
    apps.get_model("ledger", "ChainHead").objects.get_or_create(pk=1)


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        migrations.RunPython(create_head, migrations.RunPython.noop),
        migrations.RunPython(add_trigger, drop_trigger),
    ]
