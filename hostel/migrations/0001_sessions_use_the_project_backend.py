"""Staff stay logged in across the switch to hostel.auth.ModelBackend.

A session remembers the dotted path of the backend that logged its user in, and Django
treats the session as logged out once that path is no longer in AUTHENTICATION_BACKENDS.
Sessions opened under django.contrib.auth.backends.ModelBackend are moved to the
project's backend (the same rules, one query fewer), so guards on the scan page are not
sent back to the login page by an upgrade.
"""

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.db import migrations

OLD = "django.contrib.auth.backends.ModelBackend"
NEW = "hostel.auth.ModelBackend"


def move_sessions(apps, schema_editor, *, old=OLD, new=NEW):
    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return  # sessions stored elsewhere expire on their own
    from django.contrib.sessions.backends.db import SessionStore

    Session = apps.get_model("sessions", "Session")
    store = SessionStore()
    for session in Session.objects.using(schema_editor.connection.alias).iterator():
        data = store.decode(session.session_data)
        if data.get(BACKEND_SESSION_KEY) == old:
            data[BACKEND_SESSION_KEY] = new
            session.session_data = store.encode(data)
            session.save(update_fields=["session_data"])


def move_back(apps, schema_editor):
    move_sessions(apps, schema_editor, old=NEW, new=OLD)


class Migration(migrations.Migration):
    dependencies = [("sessions", "0001_initial")]

    operations = [migrations.RunPython(move_sessions, move_back)]
