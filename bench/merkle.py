"""Merkle tree benchmark (ledger.merkle): proofs at 1M leaves from the planned node storage.

    python bench/merkle.py                  # 1,000,000 leaves, 3 runs of each loop
    python bench/merkle.py --leaves 200000 --repeat 5

Setup, untimed: leaf hashes for `--leaves` leaves (SHA-256 of 0x00 || 8-byte index), then one
Frontier pass that keeps every completed subtree of level >= 8 in a dict: the storage design
the ledger will use. perfect(level, position) answers levels >= 8 from that dict and levels
0..7 by hashing the <= 256 leaf hashes of its list slice (merkle.root over the slice), as the
ledger will from its block rows.

- append: Frontier.append over every leaf, return value kept (the caller stores it); leaves/s,
  median of --repeat runs;
- root: merkle.root() over every leaf (streaming, constant memory); seconds, median of runs;
- inclusion: inclusion_proof at the full size for --inclusions random indexes, each timed on
  its own; the median and the 99th percentile per proof, and perfect() calls per proof; then
  verify_inclusion over the same proofs the same way;
- consistency: consistency_proof for --consistencies random (old, new) pairs, 0 < old <= new
  <= size, timed the same way, then verify_consistency.

Every proof is verified against the Frontier's roots before its figure is printed (roots of
random old sizes come from range_hash over the same storage). Figures are printed; nothing
else is asserted. One process: the figures are CPU time of pure Python, no I/O.
"""

import argparse
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger import merkle

STORED_FROM_LEVEL = 8
T = TypeVar("T")


def build(size: int) -> tuple[list[bytes], dict[tuple[int, int], bytes], merkle.Frontier]:
    leaves = [merkle.leaf_hash(i.to_bytes(8, "big")) for i in range(size)]
    stored: dict[tuple[int, int], bytes] = {}
    frontier = merkle.Frontier()
    for leaf in leaves:
        for level, position, node in frontier.append(leaf):
            if level >= STORED_FROM_LEVEL:
                stored[(level, position)] = node
    return leaves, stored, frontier


def storage_perfect(
    leaves: list[bytes], stored: dict[tuple[int, int], bytes]
) -> tuple[merkle.Perfect, list[int]]:
    calls = [0]

    def perfect(level: int, position: int) -> bytes:
        calls[0] += 1
        if level >= STORED_FROM_LEVEL:
            return stored[(level, position)]
        return merkle.root(leaves[position << level : (position + 1) << level])

    return perfect, calls


def timed(work: Callable[[], T]) -> tuple[float, T]:
    began = time.perf_counter()
    result = work()
    return time.perf_counter() - began, result


def per_call(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"{statistics.median(seconds) * 1e6:,.0f} µs median, {p99 * 1e6:,.0f} µs p99"


def bench_append(leaves: list[bytes], repeat: int) -> dict[str, str]:
    def run() -> None:
        frontier = merkle.Frontier()
        append = frontier.append
        for leaf in leaves:
            append(leaf)

    seconds = statistics.median(timed(run)[0] for _ in range(repeat))
    return {
        "what": f"Frontier.append, {len(leaves):,} leaves",
        "value": f"{len(leaves) / seconds:,.0f} leaves/s",
        "detail": f"{seconds:.2f} s per pass, median of {repeat}",
    }


def bench_root(leaves: list[bytes], repeat: int, expected: bytes) -> dict[str, str]:
    runs = [timed(partial(merkle.root, leaves)) for _ in range(repeat)]
    assert all(result == expected for _, result in runs)
    seconds = statistics.median(s for s, _ in runs)
    return {
        "what": f"root() over {len(leaves):,} leaves",
        "value": f"{seconds:.2f} s",
        "detail": f"{len(leaves) / seconds:,.0f} leaves/s, median of {repeat}",
    }


def bench_inclusion(
    leaves: list[bytes], stored: dict[tuple[int, int], bytes], root: bytes, args: argparse.Namespace
) -> list[dict[str, str]]:
    rng = random.Random(args.seed)
    size = len(leaves)
    perfect, calls = storage_perfect(leaves, stored)
    indexes = [rng.randrange(size) for _ in range(args.inclusions)]
    proofs, seconds, counts = [], [], []
    for index in indexes:
        calls[0] = 0
        took, proof = timed(partial(merkle.inclusion_proof, index, size, perfect))
        seconds.append(took)
        counts.append(calls[0])
        proofs.append(proof)
    verify_seconds = []
    for index, proof in zip(indexes, proofs, strict=True):
        took, ok = timed(partial(merkle.verify_inclusion, index, size, leaves[index], proof, root))
        assert ok, index
        verify_seconds.append(took)
    return [
        {
            "what": f"inclusion_proof at size {size:,}",
            "value": per_call(seconds),
            "detail": f"{len(indexes)} random indexes; perfect() calls per proof: median "
            f"{statistics.median(counts):.0f}, max {max(counts)}",
        },
        {
            "what": "verify_inclusion",
            "value": per_call(verify_seconds),
            "detail": f"the same {len(indexes)} proofs, all valid",
        },
    ]


def bench_consistency(
    leaves: list[bytes], stored: dict[tuple[int, int], bytes], root: bytes, args: argparse.Namespace
) -> list[dict[str, str]]:
    rng = random.Random(args.seed + 1)
    size = len(leaves)
    perfect, calls = storage_perfect(leaves, stored)
    pairs = []
    for _ in range(args.consistencies):
        old, new = sorted((rng.randrange(1, size + 1), rng.randrange(1, size + 1)))
        pairs.append((old, new))
    proofs, seconds, counts = [], [], []
    for old, new in pairs:
        calls[0] = 0
        took, proof = timed(partial(merkle.consistency_proof, old, new, perfect))
        seconds.append(took)
        counts.append(calls[0])
        proofs.append(proof)
    verify_seconds = []
    for (old, new), proof in zip(pairs, proofs, strict=True):
        old_root = merkle.range_hash(0, old, perfect)
        new_root = root if new == size else merkle.range_hash(0, new, perfect)
        took, ok = timed(partial(merkle.verify_consistency, old, new, old_root, new_root, proof))
        assert ok, (old, new)
        verify_seconds.append(took)
    return [
        {
            "what": f"consistency_proof, sizes <= {size:,}",
            "value": per_call(seconds),
            "detail": f"{len(pairs)} random pairs; perfect() calls per proof: median "
            f"{statistics.median(counts):.0f}, max {max(counts)}",
        },
        {
            "what": "verify_consistency",
            "value": per_call(verify_seconds),
            "detail": f"the same {len(pairs)} proofs, all valid",
        },
    ]


def print_table(rows: list[dict[str, str]], setup: str) -> None:
    print(f"# bench/merkle.py — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"# command: python bench/merkle.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"# {setup}\n")
    print("| measurement | result | notes |")
    print("|---|---|---|")
    for row in rows:
        print(f"| {row['what']} | {row['value']} | {row['detail']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of the append and root loops")
    parser.add_argument("--inclusions", type=int, default=1000)
    parser.add_argument("--consistencies", type=int, default=200)
    parser.add_argument("--seed", type=int, default=9162)
    args = parser.parse_args()

    took, (leaves, stored, frontier) = timed(partial(build, args.leaves))
    root = frontier.root()
    setup = (
        f"setup (untimed below): {args.leaves:,} leaf hashes and {len(stored):,} stored nodes "
        f"of level >= {STORED_FROM_LEVEL} in {took:.1f} s"
    )
    print(f"  {setup}", file=sys.stderr)
    rows = [bench_append(leaves, args.repeat), bench_root(leaves, args.repeat, root)]
    rows += bench_inclusion(leaves, stored, root, args)
    rows += bench_consistency(leaves, stored, root, args)
    print_table(rows, setup)


if __name__ == "__main__":
    main()
