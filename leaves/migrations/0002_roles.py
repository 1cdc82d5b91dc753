"""Guards see leave (the gate shows it); wardens also ask for it and decide it."""

from django.db import migrations

from hostel.roles import roles_grant, roles_revoke

GRANTS = {
    "guards": ["view_leave"],
    "wardens": ["view_leave", "add_leave", "decide_leave"],
}


def grant(apps, schema_editor):
    roles_grant(apps, "leaves", GRANTS)


def revoke(apps, schema_editor):
    roles_revoke(apps, "leaves", GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("leaves", "0001_initial"),
        ("residents", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
