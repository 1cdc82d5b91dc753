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


def test_reset_emails_are_limited_per_recipient(db, settings) -> None:
    settings.THROTTLE_PASSWORD_RESET = "3/hour"
    User.objects.create_user("gary", email="gary@example.org", password=PASSWORD)
    answers = [
        Client(REMOTE_ADDR=f"10.0.0.{n}").post("/password/reset/", {"email": "Gary@example.org"})
        for n in range(5)  # from five addresses: the recipient's limit still holds
    ]

    assert [a.status_code for a in answers] == [302, 302, 302, 429, 429]
    assert len(mail.outbox) == 3


def test_the_old_password_cannot_be_guessed_without_limit(db, settings) -> None:
    settings.THROTTLE_LOGIN = "3/min"
    gary = User.objects.create_user("gary", password=PASSWORD)
    client = Client()
    client.force_login(gary)
    wrong = {"old_password": "guess", "new_password1": "x" * 12, "new_password2": "x" * 12}

    codes = [client.post("/password/", wrong).status_code for _ in range(5)]

    assert codes == [200, 200, 200, 429, 429]
