"""Settings come from the environment; production refuses to start without its secrets."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hostel import devsecrets

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a production secret key that is long enough to be taken seriously",
    "LEDGER_HMAC_KEY": "a production ledger key",
    "ALLOWED_HOSTS": "gate.example.org",
    "DATABASE_URL": "sqlite:////tmp/hostel-settings-test.sqlite3",
}


def start(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in PRODUCTION}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_starts_with_its_secrets() -> None:
    result = start(PRODUCTION)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", ["SECRET_KEY", "LEDGER_HMAC_KEY"])
def test_production_refuses_to_start_without_a_secret(missing) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != missing}

    result = start(env)

    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr


def test_old_ledger_keys_are_parsed_and_checked() -> None:
    good = start({**PRODUCTION, "LEDGER_HMAC_KEY_ID": "2027", "LEDGER_HMAC_OLD_KEYS": "k1:old"})
    bad = start({**PRODUCTION, "LEDGER_HMAC_OLD_KEYS": "no-separator"})
    clash = start({**PRODUCTION, "LEDGER_HMAC_OLD_KEYS": "k1:other"})

    assert good.returncode == 0, good.stderr
    assert "id:key pairs" in bad.stderr
    assert "appears twice" in clash.stderr


def test_development_secrets_are_generated_once_and_private(tmp_path) -> None:
    path = tmp_path / ".dev-secrets.env"

    first = devsecrets.load_or_create(path)
    second = devsecrets.load_or_create(path)

    assert first == second
    assert len(first["SECRET_KEY"]) > 50 and first["SECRET_KEY"] != first["LEDGER_HMAC_KEY"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_health_endpoint_answers_anonymously(client, db) -> None:
    response = client.get("/health")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_bootstrap_creates_one_administrator_and_says_how_to_log_in(db, monkeypatch) -> None:
    import io

    from django.contrib.auth import authenticate
    from django.core.management import call_command
    from django.test import RequestFactory

    monkeypatch.setenv("HOSTEL_ADMIN_PASSWORD", "gate at two in the morning")
    first, second = io.StringIO(), io.StringIO()

    call_command("bootstrap", stdout=first)
    call_command("bootstrap", stdout=second)

    assert "Created administrator 'admin'" in first.getvalue()
    assert "already exists" in second.getvalue()
    login = RequestFactory().post("/login/")  # django-axes asks every login for its request
    user = authenticate(login, username="admin", password="gate at two in the morning")
    assert user is not None and user.is_superuser


def test_bootstrap_demo_loads_residents_and_role_accounts_through_services(db) -> None:
    import io

    from django.contrib.auth.models import User
    from django.core.management import call_command

    from ledger.models import Block
    from residents.models import Resident

    out = io.StringIO()
    call_command("bootstrap", "--demo", stdout=out)
    call_command("bootstrap", "--demo", stdout=out)  # a second run adds nothing

    assert Resident.objects.count() == 12
    assert Block.objects.filter(type="register").count() == 12
    assert User.objects.get(username="guard").groups.filter(name="guards").exists()
    assert User.objects.get(username="warden").groups.filter(name="wardens").exists()
    assert "Created guard 'guard' with password" in out.getvalue()


def test_the_sqlite_database_is_readable_by_its_owner_only(tmp_path) -> None:
    database = tmp_path / "var" / "hostel.sqlite3"
    database.parent.mkdir()
    database.touch(mode=0o644)  # as an older version left it
    database.chmod(0o644)

    result = start({**PRODUCTION, "DATABASE_URL": f"sqlite:///{database}"})

    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
