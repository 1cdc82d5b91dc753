"""hostel.auth.ModelBackend reads permissions in one statement; it must grant exactly what
Django's own ModelBackend grants, to every kind of user."""

import pytest
from django.contrib.auth import backends
from django.contrib.auth.models import Group, Permission, User

from hostel.auth import ModelBackend


@pytest.fixture
def users(migration_data) -> list[User]:
    guard = User.objects.create_user("gary")
    guard.groups.add(Group.objects.get(name="guards"))
    warden = User.objects.create_user("wendy")
    warden.groups.add(Group.objects.get(name="wardens"), Group.objects.get(name="guards"))
    direct = User.objects.create_user("dora")  # a permission of her own, and a group's
    direct.user_permissions.add(Permission.objects.get(codename="export_blocks"))
    direct.groups.add(Group.objects.get(name="guards"))
    gone = User.objects.create_user("ivan", is_active=False)
    gone.groups.add(Group.objects.get(name="wardens"))
    nobody = User.objects.create_user("nora")
    root = User.objects.create_superuser("root")
    return [guard, warden, direct, gone, nobody, root]


def test_it_grants_what_djangos_backend_grants(users, django_assert_num_queries) -> None:
    for user in users:
        expected = backends.ModelBackend().get_all_permissions(User.objects.get(pk=user.pk))
        fresh = User.objects.get(pk=user.pk)
        with django_assert_num_queries(1 if user.is_active else 0):
            granted = ModelBackend().get_all_permissions(fresh)
            ModelBackend().has_perm(fresh, "residents.record_scan")  # cached on the user

        assert granted == expected, user.username
    guard, _, direct, *_ = users
    assert "residents.record_scan" in ModelBackend().get_all_permissions(guard)
    assert "residents.add_resident" not in ModelBackend().get_all_permissions(guard)
    assert "ledger.export_blocks" in ModelBackend().get_all_permissions(direct)
