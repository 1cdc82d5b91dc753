"""Shared fixtures. The suite runs twice: on SQLite, and on PostgreSQL (scripts/test)."""

import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection, transaction

from ledger import crypto
from ledger.models import ChainHead
from ledger.services import block_append

LEDGER_TRIGGERS = "ledger_block_no_update_delete, ledger_block_no_truncate"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if connection.vendor == "postgresql":
        return
    if os.environ.get("HOSTEL_TEST_REQUIRE_POSTGRES"):
        raise pytest.UsageError(
            "HOSTEL_TEST_REQUIRE_POSTGRES is set but DATABASE_URL is not PostgreSQL"
        )
    skip = pytest.mark.skip(reason="PostgreSQL only; scripts/test runs it on PostgreSQL")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


# On PostgreSQL the suite runs as the application's least-privileged role, exactly as the
# README tells an operator to run the servers: created and granted by `manage.py db_grant`
# after the test database is migrated by its owner. Every connection switches to it.
APP_ROLE = "hostel_test_app"
APPEND_ONLY = ("ledger_block", "ledger_archivesegment")  # their triggers refuse TRUNCATE


def _as_app_role(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {APP_ROLE}")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    if connection.vendor != "postgresql":
        yield
        return
    from django.core.management import call_command
    from django.db.backends.signals import connection_created

    with django_db_blocker.unblock(), open(os.devnull, "w") as quiet:
        call_command("db_grant", APP_ROLE, "--create", stdout=quiet)
        _as_app_role(None, connection)
    connection_created.connect(_as_app_role)
    yield
    connection_created.disconnect(_as_app_role)


@contextmanager
def as_owner() -> Iterator[None]:
    """The database owner's rights for a moment (PostgreSQL), as an attacker with them has."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"SET ROLE {APP_ROLE}")


@pytest.fixture(scope="session", autouse=True)
def _flush_past_the_ledger_trigger() -> Iterator[None]:
    """Let test teardown TRUNCATE the append-only block table on PostgreSQL.

    The trigger refuses TRUNCATE for everyone; the table owner can disable it, and the
    suite (which owns its test database) does so inside the flush transaction only, as the
    owner, then returns to the application's role.
    """
    if connection.vendor != "postgresql":
        yield
        return
    ops_class = type(connection.ops)
    original = ops_class.sql_flush

    def sql_flush(self: Any, style: Any, tables: Any, **kwargs: Any) -> list[str]:
        statements = original(self, style, tables, **kwargs)
        guarded = [table for table in APPEND_ONLY if table in tables]
        return [
            "RESET ROLE",
            *(f"ALTER TABLE {table} DISABLE TRIGGER USER" for table in guarded),
            *statements,
            *(f"ALTER TABLE {table} ENABLE TRIGGER USER" for table in guarded),
            f"SET ROLE {APP_ROLE}",
        ]

    ops_class.sql_flush = sql_flush  # type: ignore[method-assign]
    yield
    ops_class.sql_flush = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path) -> None:
    """Uploads go to a fresh folder per test, never to the checkout's var/media; passwords
    hash fast (the real hasher's cost is the point in production, not in tests). Face scans
    take one still unless a test turns the live-person check on (FACE_LIVENESS is on by
    default: tests/residents/test_liveness_scans.py and the browser's gate tests check it
    there, and that the default is on)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FACE_LIVENESS = False
    cache.clear()  # throttle counts (the cache) start afresh in every test
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def migration_data(db) -> None:
    """The rows data migrations create (staff groups, the main gate), which a transactional
    test's flush empties; recreated from those migrations' own definitions."""
    from django.contrib.auth.models import Group, Permission

    from residents.models import Gate

    Gate.objects.get_or_create(  # residents.0004, marked the default by 0011
        slug="main", defaults={"name": "Main gate", "is_default": True}
    )
    roles = import_module("residents.migrations.0002_roles").ROLES
    later = {"wardens": [("ledger", "verify_chain"), ("ledger", "export_blocks")]}  # 0005, 0008
    for app in ("leaves", "visitors"):
        for name, codenames in import_module(f"{app}.migrations.0002_roles").GRANTS.items():
            later.setdefault(name, []).extend((app, codename) for codename in codenames)
    for name, codenames in roles.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in [*codenames, *later.get(name, [])]
        )


def tamper_sql(sql: str, params: list[Any] | tuple[Any, ...] = ()) -> None:
    """Run SQL behind the application's back, as someone with the database's owner rights."""
    with as_owner(), transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in APPEND_ONLY:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            for table in APPEND_ONLY:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


@pytest.fixture
def tamper() -> Callable[..., None]:
    return tamper_sql


@pytest.fixture
def checkpoint_key(tmp_path: Path) -> tuple[Path, str]:
    """A checkpoint key pair: the private key's PEM file, and the public key (base64)."""
    pem, public = crypto.checkpoint_keygen()
    path = tmp_path / "checkpoint.pem"
    path.write_bytes(pem)
    return path, public


def make_checkpoint(private_key: Path, *args: str) -> None:
    """`manage.py ledger_checkpoint create` with that key (then --out FILE, --witness URL…)."""
    call_command(
        "ledger_checkpoint",
        "create",
        "--private-key",
        str(private_key),
        *args,
        stdout=io.StringIO(),
    )


@pytest.fixture
def chain(db: None) -> Callable[[int], list[Any]]:
    """Build a chain through the real service: genesis plus ``n`` event blocks."""

    def build(n: int) -> list[Any]:
        return [block_append(data={"type": "test", "n": i, "note": f"event {i}"}) for i in range(n)]

    return build


@contextmanager
def chain_head_held(*, release_after: float | None = None) -> Iterator[None]:
    """Another connection holds the chain head's row lock (a stuck writer) while this one
    waits at most 200 ms for any lock; released on exit, or after ``release_after`` s."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction.atomic():
            ChainHead.objects.select_for_update().get()
            locked.set()
            release.wait(10)
        connection.close()

    ChainHead.objects.get_or_create(pk=ChainHead.SINGLETON)  # a flushed database has none
    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(5), "the other connection did not get the head's lock"
    if release_after is not None:
        threading.Timer(release_after, release.set).start()
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '200ms'")
    try:
        yield
    finally:
        release.set()
        holder.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def audit(tmp_path, settings) -> Callable[..., tuple[int, dict[str, Any]]]:
    """Export the chain (manage.py export_chain) and check the file with the standalone
    verifier in a subprocess of its own, without Django, as an auditor would: (exit status,
    its JSON report). ``keys``: give it the HMAC keys; ``from_index``: export from there."""

    def run(*extra: str, keys: bool = True, from_index: int = 0) -> tuple[int, dict[str, Any]]:
        out = tmp_path / "chain.jsonl.gz"
        call_command(
            "export_chain", "--out", str(out), "--from-index", str(from_index), stdout=io.StringIO()
        )
        args = [sys.executable, "-m", "ledger.audit", str(out), "--json", *extra]
        if keys:
            key_file = tmp_path / "hmac.keys"
            key_file.write_text(
                "".join(f"{key_id}:{key}\n" for key_id, key in settings.LEDGER_HMAC_KEYS.items())
            )
            args += ["--hmac-key-file", str(key_file)]
        environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
        done = subprocess.run(
            args, capture_output=True, text=True, cwd=REPO, env=environment, timeout=120
        )
        report = json.loads(done.stdout) if done.stdout.strip() else {"stderr": done.stderr}
        return done.returncode, report

    return run
