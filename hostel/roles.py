"""For data migrations that give the staff roles (groups "guards", "wardens") an app's
permissions. Kept stable: migrations import it. Imports no app."""

from typing import Any

from django.contrib.auth.management import create_permissions


def roles_grant(apps: Any, app_label: str, grants: dict[str, list[str]]) -> None:
    """Give each group its codenames of ``app_label`` (the permissions made first)."""
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in grants.items():
        group, _ = Group.objects.get_or_create(name=name)
        for codename in codenames:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def roles_revoke(apps: Any, app_label: str, grants: dict[str, list[str]]) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in grants.items():
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(
                *Permission.objects.filter(
                    content_type__app_label=app_label, codename__in=codenames
                )
            )
