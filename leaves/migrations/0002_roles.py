"""Guards see leave (the gate shows it); wardens also ask for it and decide it."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "guards": ["view_leave"],
    "wardens": ["view_leave", "add_leave", "decide_leave"],
}


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for codename in codenames:
            group.permissions.add(
                Permission.objects.get(content_type__app_label="leaves", codename=codename)
            )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(
                *Permission.objects.filter(
                    content_type__app_label="leaves", codename__in=codenames
                )
            )


class Migration(migrations.Migration):
    dependencies = [
        ("leaves", "0001_initial"),
        ("residents", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
