"""What settings.py reads from the environment and must check or complete before Django
starts: the database (per engine) and the ledger's keys. Configuration errors are
ImproperlyConfigured, which `manage.py` turns into exit status 2."""

import re
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

from hostel import paths

_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


def database(db: dict[str, Any], env: environ.Env, *, test_name: str) -> dict[str, Any]:
    """DATABASE_URL's settings, completed for SQLite (WAL, IMMEDIATE transactions, a private
    file) or PostgreSQL (lock timeout, persistent health-checked connections)."""
    if db["ENGINE"] == "django.db.backends.sqlite3":
        if db["NAME"] != ":memory:":
            paths.private_file(Path(db["NAME"]))
        db["OPTIONS"] = {
            # Every transaction takes the write lock when it begins, so two writers queue on
            # the busy timeout instead of failing halfway with "database is locked".
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=20),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            **db.get("OPTIONS", {}),
        }
        # The tests use a file, not shared-cache memory: threads must meet real file locks.
        db["TEST"] = {"NAME": test_name}
    elif db["ENGINE"].startswith("django.db.backends.postgresql"):
        db["ENGINE"] = "django.db.backends.postgresql"
        db.setdefault("OPTIONS", {})
        lock_timeout = env.int("DATABASE_LOCK_TIMEOUT", default=10) * 1000  # milliseconds
        db["OPTIONS"].setdefault("options", f"-c lock_timeout={lock_timeout}")
        db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
        db["CONN_HEALTH_CHECKS"] = True
        db["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
            "DATABASE_DISABLE_SERVER_SIDE_CURSORS", default=False
        )
    else:
        raise ImproperlyConfigured(f"DATABASE_URL: unsupported database engine {db['ENGINE']}")
    return db


def ledger_keys(current_id: str, current: str, old: list[str]) -> tuple[str, dict[str, str]]:
    """The signing key's id and every key by id: the current one, and old ``id:key`` pairs
    that only verify the blocks they signed."""
    keys = {current_id: current}
    for item in old:
        key_id, sep, secret = item.partition(":")
        if not sep or not secret:
            raise ImproperlyConfigured("LEDGER_HMAC_OLD_KEYS: use id:key pairs separated by commas")
        if key_id in keys:
            raise ImproperlyConfigured(f"LEDGER_HMAC_OLD_KEYS: key id {key_id!r} appears twice")
        keys[key_id] = secret
    for key_id in keys:
        if not _KEY_ID.fullmatch(key_id):
            raise ImproperlyConfigured(
                f"ledger key id {key_id!r}: use 1-32 letters, digits, '-' or '_'"
            )
    return current_id, keys
