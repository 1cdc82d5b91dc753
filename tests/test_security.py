"""Brute force, throttles, revoked tokens, headers: the site as an attacker meets it."""

import json
import logging

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from tests.conftest import APP_ROLE

PASSWORD = "correct horse battery staple"


@pytest.fixture
def wendy(db) -> User:
    return User.objects.create_user("wendy", password=PASSWORD)


def api_login(client: APIClient, password: str):
    return client.post("/api/token", {"username": "wendy", "password": password}, format="json")


def page_login(client: Client, password: str):
    return client.post("/login/", {"username": "wendy", "password": password})


# --- Lockout --------------------------------------------------------------------------------


def test_the_login_page_locks_out_after_repeated_failures(wendy, settings) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert page_login(client, "wrong").status_code == 200  # the form again, with an error
    assert page_login(client, "wrong").status_code == 429  # the last one allowed

    refused = page_login(client, PASSWORD)  # the right password, too late

    assert refused.status_code == 429 and refused["Retry-After"]
    assert "Too many failed logins" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_token_endpoint_locks_out_after_repeated_failures(wendy, settings) -> None:
    client = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert api_login(client, "wrong").status_code == 401
    assert api_login(client, "wrong").status_code == 429

    refused = api_login(client, PASSWORD)

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "locked_out"
    assert "access" not in refused.json()


def test_an_administrator_unlocks_an_account(wendy, settings) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page_login(client, "wrong")

    call_command("axes_reset_username", "wendy")

    assert page_login(client, PASSWORD).status_code == 302


def test_a_success_before_the_limit_resets_the_count(wendy, settings) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        page_login(client, "wrong")
    assert page_login(client, PASSWORD).status_code == 302
    client.logout()

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        page_login(client, "wrong")

    assert page_login(client, PASSWORD).status_code == 302


# --- Throttles ------------------------------------------------------------------------------


def test_the_token_endpoint_is_throttled_with_retry_after(db, settings, monkeypatch) -> None:
    settings.AXES_ENABLED = False  # the throttle alone
    rates = {**ScopedRateThrottle.THROTTLE_RATES, "login": "3/min"}
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)  # read at import
    client = APIClient()
    answers = [api_login(client, "wrong") for _ in range(4)]

    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert answers[-1].json()["error"]["code"] == "throttled"
    assert int(answers[-1]["Retry-After"]) > 0


# --- Tokens after a password change ---------------------------------------------------------


def test_a_password_change_voids_access_and_refresh_tokens(wendy) -> None:
    client = APIClient()
    pair = api_login(client, PASSWORD).json()
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert bearer.get("/api/residents").status_code == 403  # authenticated: no role yet

    wendy.set_password("a brand new passphrase 2")
    wendy.save()

    assert bearer.get("/api/residents").status_code == 401
    refreshed = client.post("/api/token/refresh", {"refresh": pair["refresh"]}, format="json")
    assert refreshed.status_code == 401
    assert refreshed.json()["error"]["code"] == "password_changed"


def test_a_refresh_token_of_a_removed_account_is_a_401_not_a_500(wendy) -> None:
    client = APIClient()
    refresh = api_login(client, PASSWORD).json()["refresh"]
    wendy.delete()

    response = client.post("/api/token/refresh", {"refresh": refresh}, format="json")

    assert response.status_code == 401


# --- Headers --------------------------------------------------------------------------------


def test_every_page_carries_the_security_headers(wendy) -> None:
    client = Client()
    client.force_login(wendy)

    for path in ("/login/", "/", "/health", "/api/residents", "/nope"):
        response = client.get(path)
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert "'unsafe-inline'" not in policy, path
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "camera=()" in response["Permissions-Policy"], path
        assert response["X-Request-ID"]


def test_only_the_pages_that_capture_may_use_camera_and_microphone(db) -> None:
    user = User.objects.create_superuser("root", "root@example.org", PASSWORD)
    client = Client()
    client.force_login(user)

    for path in ("/scan/", "/residents/new"):
        assert "camera=(self)" in client.get(path)["Permissions-Policy"], path
    assert "camera=()" in client.get("/residents/")["Permissions-Policy"]


def test_a_request_id_from_the_proxy_is_kept_and_logged(wendy, caplog) -> None:
    client = Client(headers={"X-Request-ID": "nginx-7f3a"})
    with caplog.at_level(logging.INFO):
        response = client.get("/api/nope")
        logging.getLogger("hostel.test").info("outside any request")

    assert response["X-Request-ID"] == "nginx-7f3a"
    # Django's own line for the 404, written after the middleware returned, carries it too.
    assert [r.request_id for r in caplog.records if r.name == "django.request"] == ["nginx-7f3a"]
    assert [r.request_id for r in caplog.records if r.name == "hostel.test"] == ["-"]


def test_json_log_lines_carry_the_request_id_and_extras() -> None:
    from hostel.logs import JsonFormatter, request_id

    token = request_id.set("abc123")
    try:
        record = logging.makeLogRecord({"name": "residents.scans", "msg": "scan %s"})
        record.args, record.levelname, record.code = ("IN",), "INFO", "accepted"
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token)

    assert line["message"] == "scan IN" and line["request_id"] == "abc123"
    assert line["code"] == "accepted" and line["level"] == "INFO"


# --- The database role the README prescribes ------------------------------------------------


def test_logging_out_ends_the_session_under_the_application_s_database_role(wendy) -> None:
    client = Client()
    client.force_login(wendy)
    assert client.get("/").status_code == 200

    response = client.post("/logout/")

    assert response.status_code == 302
    assert client.get("/").status_code == 302  # back to the login page
    assert not Session.objects.exists()


@pytest.mark.postgres_only
def test_the_postgres_suite_runs_as_the_least_privileged_role(db) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, pg_has_role(current_user, 'pg_read_all_data', 'MEMBER')"
        )
        user, reads_everything = cursor.fetchone()
        cursor.execute("SELECT has_table_privilege('ledger_block', 'UPDATE, DELETE, TRUNCATE')")
        (changes_blocks,) = cursor.fetchone()

    assert user == APP_ROLE and not reads_everything and not changes_blocks


def test_the_granted_role_may_end_sessions_but_only_append_to_the_ledger() -> None:
    from hostel.dbroles import grant_statements

    sql = grant_statements("app", ["django_session", "ledger_block", "residents_resident"])

    assert "GRANT SELECT, INSERT, UPDATE, DELETE ON django_session TO app" in sql
    assert "GRANT SELECT, INSERT ON ledger_block TO app" in sql
    assert "GRANT SELECT, INSERT, UPDATE ON residents_resident TO app" in sql
    with pytest.raises(ValueError):
        grant_statements("app; DROP TABLE x", ["django_session"])


# --- Behind a proxy -------------------------------------------------------------------------


def test_lockouts_key_on_the_address_the_proxy_saw_not_on_the_proxy(wendy, settings) -> None:
    settings.TRUSTED_PROXY_COUNT = 1  # nginx in front: every connection comes from 127.0.0.1
    attacker = Client(headers={"X-Forwarded-For": "10.9.9.9, 203.0.113.7"})
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page_login(attacker, "wrong")

    # Changing the part of the header the client wrote does not help the attacker...
    spoofed = Client(headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.7"})
    assert page_login(spoofed, PASSWORD).status_code == 429
    # ...and the account still opens for its owner at another address.
    owner = Client(headers={"X-Forwarded-For": "192.0.2.44"})
    assert page_login(owner, PASSWORD).status_code == 302


def test_an_overlong_username_on_the_token_endpoint_is_a_400(db) -> None:
    response = APIClient().post(
        "/api/token", {"username": "u" * 300, "password": "x"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["username"]


def test_error_mails_leave_out_503s_and_form_data(settings, mailoutbox) -> None:
    from django.test import RequestFactory

    settings.ADMINS = [("admin", "admin@example.org")]
    log = logging.getLogger("django.request")
    request = RequestFactory().post("/residents/new", {"name": "Ada Okafor", "phone": "0712"})

    log.error("Service Unavailable: /api/scan", extra={"status_code": 503, "request": request})
    log.error("Internal Server Error: /x", extra={"status_code": 500, "request": request})

    assert len(mailoutbox) == 1
    assert "Ada Okafor" not in mailoutbox[0].body and "0712" not in mailoutbox[0].body


def test_one_address_cannot_spray_a_password_over_many_accounts(db, settings) -> None:
    settings.THROTTLE_LOGIN = "5/min"
    client = Client()
    answers = [
        client.post("/login/", {"username": f"user{n}", "password": "Summer2026!"}).status_code
        for n in range(7)
    ]

    assert answers[:5] == [200] * 5  # the form again: wrong password
    assert answers[5:] == [429, 429]  # no account was tried six times; the address was
    assert Client(headers={"X-Forwarded-For": "x"}).get("/login/").status_code == 200


def test_the_admin_login_is_limited_per_address_too(db, settings) -> None:
    settings.THROTTLE_LOGIN = "2/min"
    client = Client()
    for n in range(2):
        client.post("/admin/login/", {"username": f"user{n}", "password": "x"})

    assert client.post("/admin/login/", {"username": "root", "password": "x"}).status_code == 429


def test_debug_pages_reach_only_this_machine(db, settings) -> None:
    settings.DEBUG = True
    phone = Client(REMOTE_ADDR="192.168.1.20")  # a phone on the LAN, as the README suggests
    here = Client()  # 127.0.0.1

    from_phone = phone.get("/nope")
    from_here = here.get("/nope")

    assert from_phone.status_code == 404 and from_here.status_code == 404
    assert "URLconf" not in from_phone.content.decode()
    assert "<h1>Not found</h1>" in from_phone.content.decode()
    assert "URLconf" in from_here.content.decode()  # the developer still gets the details
