"""The resident search folds case and accents and finds partial rooms and phone digits;
names and rooms sort naturally ("Resident 2" before "Resident 10").

Four derived columns, kept by Resident.save() (residents.search folds them): search_text
(name, room and email folded), phone_digits, and the natural sort keys name_sort and
room_sort. Existing residents are filled in here, in batches. On PostgreSQL the trigram
indexes of 0010 on name, email and phone give way to trigram indexes on search_text and
phone_digits (0010's index on UPPER(room) stays: the room filter uses it); without the
right to create pg_trgm the search still works, by scanning, and the migration says so.
"""

import logging

from django.conf import settings
from django.db import DatabaseError, migrations, models, transaction

from residents import search

log = logging.getLogger(__name__)

BATCH = 1000
DERIVED = ["search_text", "phone_digits", "name_sort", "room_sort"]
TRIGRAM_INDEXES = {
    "residents_search_trgm": "search_text gin_trgm_ops",
    "residents_phone_digits_trgm": "phone_digits gin_trgm_ops",
}
OLD_TRIGRAM_INDEXES = {  # 0010's
    "residents_name_trgm": "UPPER(name) gin_trgm_ops",
    "residents_email_trgm": "UPPER(email) gin_trgm_ops",
    "residents_phone_trgm": "phone gin_trgm_ops",
}


def fill_derived(apps, schema_editor):
    Resident = apps.get_model("residents", "Resident")
    residents = Resident.objects.using(schema_editor.connection.alias).order_by("pk")
    residents = residents.only("pk", "name", "room", "email", "phone")
    last = None
    while True:
        batch = list((residents if last is None else residents.filter(pk__gt=last))[:BATCH])
        if not batch:
            return
        for resident in batch:
            resident.search_text = search.search_text(
                name=resident.name, room=resident.room, email=resident.email
            )
            resident.phone_digits = search.digits(resident.phone)
            resident.name_sort = search.sort_key(resident.name)
            resident.room_sort = search.sort_key(resident.room)
        Resident.objects.using(schema_editor.connection.alias).bulk_update(batch, DERIVED)
        last = batch[-1].pk


def _trigram_indexes(schema_editor, create, drop):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in drop:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}", params=None)
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm", params=None)
    except DatabaseError as exc:
        log.warning("pg_trgm not available (%s): resident search will scan the table", exc)
        return
    for name, expression in create.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON residents_resident USING gin ({expression})",
            params=None,
        )


def add_trigram_indexes(apps, schema_editor):
    _trigram_indexes(schema_editor, TRIGRAM_INDEXES, OLD_TRIGRAM_INDEXES)


def restore_trigram_indexes(apps, schema_editor):
    _trigram_indexes(schema_editor, OLD_TRIGRAM_INDEXES, TRIGRAM_INDEXES)


class Migration(migrations.Migration):

    dependencies = [
        ('residents', '0011_status_unknown_email_unique_default_gate'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='resident',
            name='name_sort',
            field=models.CharField(blank=True, editable=False, max_length=255),
        ),
        migrations.AddField(
            model_name='resident',
            name='phone_digits',
            field=models.CharField(blank=True, editable=False, max_length=24),
        ),
        migrations.AddField(
            model_name='resident',
            name='room_sort',
            field=models.CharField(blank=True, editable=False, max_length=255),
        ),
        migrations.AddField(
            model_name='resident',
            name='search_text',
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.RunPython(fill_derived, migrations.RunPython.noop),
        migrations.RunPython(add_trigram_indexes, restore_trigram_indexes),
        migrations.AlterModelOptions(
            name='resident',
            options={'ordering': ['name_sort', 'room_sort'], 'permissions': [('deactivate_resident', 'Can record that a resident moved out'), ('reissue_pass', "Can reissue a resident's QR pass"), ('record_scan', 'Can record gate scans'), ('export_data', 'Can export residents and ledger events')]},
        ),
        migrations.AddIndex(
            model_name='resident',
            index=models.Index(fields=['name_sort', 'room_sort'], name='residents_name_sort_idx'),
        ),
        migrations.AddIndex(
            model_name='resident',
            index=models.Index(fields=['room_sort', 'name_sort'], name='residents_room_sort_idx'),
        ),
        migrations.AddIndex(
            model_name='resident',
            index=models.Index(fields=['floor', 'room_sort', 'name_sort'], name='residents_floor_sort_idx'),
        ),
        migrations.AddIndex(
            model_name='resident',
            index=models.Index(fields=['is_active', 'status', 'name_sort'], name='residents_active_sort_idx'),
        ),
    ]
