"""The staff roles: guards scan and look up residents; wardens also manage them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = [("residents", "view_resident"), ("ledger", "view_block"), ("residents", "record_scan")]
ROLES = {
    "guards": VIEW,
    "wardens": [
        *VIEW,
        ("residents", "add_resident"),
        ("residents", "change_resident"),
        ("residents", "deactivate_resident"),
        ("residents", "reissue_pass"),
        ("residents", "export_data"),
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after migrations; these groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in codenames:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("residents", "0001_initial"),
        ("ledger", "0002_head_row_and_append_only_trigger"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
