"""Staff change their own password, or reset a forgotten one by email."""

import re

from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from tests.residents.conftest import PASSWORD


def test_a_staff_member_changes_their_own_password(db) -> None:
    User.objects.create_user("gary", email="gary@example.org", password=PASSWORD)
    client = Client()
    client.force_login(User.objects.get(username="gary"))

    page = client.get("/")
    assert 'href="/password/"' in page.content.decode()  # from every page's header
    changed = client.post(
        "/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a brand new passphrase 9",
            "new_password2": "a brand new passphrase 9",
        },
    )

    assert changed.status_code == 302 and changed["Location"] == "/password/changed"
    assert client.get("/").status_code == 200  # this session stays logged in
    gary = User.objects.get(username="gary")
    assert not gary.check_password(PASSWORD)
    assert gary.check_password("a brand new passphrase 9")


def test_a_forgotten_password_is_reset_through_an_emailed_link(db) -> None:
    User.objects.create_user("gary", email="gary@example.org", password=PASSWORD)
    client = Client()
    assert "Forgotten your password?" in client.get("/login/").content.decode()

    sent = client.post("/password/reset/", {"email": "gary@example.org"})
    assert sent.status_code == 302 and sent["Location"] == "/password/reset/sent"
    assert len(mail.outbox) == 1 and "gary" in mail.outbox[0].body
    link = re.search(r"https?://[^/]+(/password/reset/\S+/)", str(mail.outbox[0].body))
    assert link

    form = client.get(link.group(1), follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a brand new passphrase 9", "new_password2": "a brand new passphrase 9"},
    )

    assert done.status_code == 302 and done["Location"] == "/password/reset/done"
    assert User.objects.get(username="gary").check_password("a brand new passphrase 9")
    assert "no longer works" in client.get(link.group(1), follow=True).content.decode()
