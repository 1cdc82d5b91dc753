"""Files that hold residents' data: readable and writable by the service's user only."""

import os
from pathlib import Path


def private_file(path: Path) -> None:
    """Create ``path`` (and its folder) if missing, and make it mode 0600.

    The SQLite database holds every resident's details; it was created world-readable
    under the default umask. SQLite creates its -wal and -shm files with the database's mode.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
