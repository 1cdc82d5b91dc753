#!/usr/bin/env python
"""Django's command-line utility for hostel."""

import os
import sys
from pathlib import Path


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hostel.settings")
    try:
        from django.core.exceptions import ImproperlyConfigured
        from django.core.management import execute_from_command_line
    except ImportError:
        venv = Path(__file__).resolve().parent / ".venv"
        venv_python = venv / "bin" / "python"
        # sys.prefix, not the executable: a venv's python is a symlink to the base one.
        if venv_python.exists() and Path(sys.prefix).resolve() != venv.resolve():
            os.execv(venv_python, [str(venv_python), *sys.argv])  # the project's own .venv
        sys.exit(
            "hostel: Django is not installed here. Run scripts/serve or scripts/test (they "
            "create .venv), or `. .venv/bin/activate` first."
        )

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A configuration error means the command could not run: exit 2, as verify_chain
        # documents, never 1 (which would read as "problems found" to cron).
        print(f"hostel: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
