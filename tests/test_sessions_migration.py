from importlib import import_module
from types import SimpleNamespace

from django.apps import apps
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import Client

migration = import_module("hostel.migrations.0001_sessions_use_the_project_backend")


def test_a_session_from_djangos_backend_stays_logged_in(db, settings) -> None:
    wendy = User.objects.create_user("wendy", password="a long enough password 7")
    session = SessionStore()
    session[SESSION_KEY] = str(wendy.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = wendy.get_session_auth_hash()
    session.create()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = str(session.session_key)
    assert client.get("/").status_code == 302  # before: sent to the login page

    migration.move_sessions(apps, SimpleNamespace(connection=connection))  # all it reads

    assert client.get("/").status_code == 200
    assert SessionStore(session.session_key).load()[BACKEND_SESSION_KEY] == migration.NEW
