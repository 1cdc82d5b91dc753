"""Guards and wardens let visitors in and out, and see who is inside."""

from django.db import migrations

from hostel.roles import roles_grant, roles_revoke

GRANTS = {
    "guards": ["view_visitor", "add_visitor", "change_visitor"],
    "wardens": ["view_visitor", "add_visitor", "change_visitor"],
}


def grant(apps, schema_editor):
    roles_grant(apps, "visitors", GRANTS)


def revoke(apps, schema_editor):
    roles_revoke(apps, "visitors", GRANTS)


class Migration(migrations.Migration):
    dependencies = [
        ("visitors", "0001_initial"),
        ("residents", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
