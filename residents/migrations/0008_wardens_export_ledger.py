"""Wardens may export the ledger as CSV (the ledger's own permission since it stopped
borrowing residents.export_data)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(content_type__app_label="ledger", codename="export_blocks")
    Group.objects.get(name="wardens").permissions.add(permission)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.filter(codename="export_blocks").first()
    if permission:
        Group.objects.get(name="wardens").permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("residents", "0007_voice_embeddings"),
        ("ledger", "0005_export_permission"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
