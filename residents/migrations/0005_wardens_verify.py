"""Wardens may run a chain verification from the dashboard."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(content_type__app_label="ledger", codename="verify_chain")
    Group.objects.get(name="wardens").permissions.add(permission)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.filter(codename="verify_chain").first()
    if permission:
        Group.objects.get(name="wardens").permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("residents", "0004_main_gate"),
        ("ledger", "0004_verify_permission"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
