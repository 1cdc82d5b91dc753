"""Archival: move the blocks older than a date out of the database into a verified file.

`manage.py archive_chain --before DATE --out DIR` keeps the last year (or whatever DATE
says) in the database and the rest as compressed archive segments, in these steps:

1. verify the whole chain (a tampered block must not be archived and certified);
2. write DIR/segment-NNNNNN.jsonl.gz: the blocks after the previous segment up to the last
   one dated before DATE, one per line exactly as export_chain writes them, and a trailer
   (range, first prev_hash, last hash and time, the Merkle tree's compact range there);
   then DIR/segment-NNNNNN.checkpoint.json, a checkpoint of the segment's last block signed
   with the checkpoint key; each through a temporary file, synced, renamed, directory synced;
3. read both back and verify them: every hash and link, the first block linked to the
   previous segment's last, the last block the one in the database, the tree root, the
   checkpoint's signature;
4. only then, in one transaction: record the segment (ArchiveSegment, the anchor the live
   chain now continues from) and delete its blocks.

A failure or crash anywhere before step 4 commits leaves every block in the database and at
most an unrecorded segment file, which verification ignores and the next run overwrites; a
failure inside step 4 rolls it back whole. The newest block always stays in the database.
Deleting blocks is possible only here: the model refuses, and on PostgreSQL the trigger
(migration 0007) allows a DELETE only of blocks a recorded segment covers, in a transaction
that sets hostel.ledger_archive.
"""

import contextlib
import fcntl
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from ledger import crypto, merkle
from ledger.audit import BLOCK_FIELDS
from ledger.checkpoints import CheckpointError, signing_key
from ledger.exports import line
from ledger.files import atomic_file
from ledger.keys import keyring
from ledger.models import ArchiveSegment, Block, ChainHead
from ledger.segments import checkpoint_name, file_sha256, segment_name
from ledger.selectors import archive_anchor
from ledger.verification import STREAM_CHUNK, chain_verify

ARCHIVE_FORMAT = "hostel-ledger-archive/1"
DELETE_BATCH = 20_000


class ArchiveError(Exception):
    """Archival could not run or its output did not verify; nothing was deleted."""


@dataclass(frozen=True)
class Plan:
    number: int
    first_index: int
    last_index: int
    last_hash: str
    last_timestamp: str
    prev_hash: str  # the first block's link: the previous segment's last hash, or "0"
    frontier: list[str]  # the compact range before first_index, hex

    @property
    def file_name(self) -> str:
        return segment_name(self.number)


def archive_plan(before: datetime) -> Plan | None:
    """What an archive run would move: the blocks after the anchor dated before ``before``,
    never the newest block. None when there is nothing to move."""
    latest = archive_anchor()
    head = ChainHead.objects.filter(pk=ChainHead.SINGLETON).first()
    if head is None or head.size < 2:
        return None
    first = latest.last_index + 1 if latest else 0
    last = (
        Block.objects.filter(
            index__gte=first,
            index__lt=head.size - 1,
            timestamp__lt=crypto.format_timestamp(before),
        )
        .order_by("-index")
        .values_list("index", "hash", "timestamp")
        .first()
    )
    if last is None:
        return None
    return Plan(
        number=latest.number + 1 if latest else 1,
        first_index=first,
        last_index=last[0],
        last_hash=last[1],
        last_timestamp=last[2],
        prev_hash=latest.last_hash if latest else crypto.GENESIS_PREV_HASH,
        frontier=list(latest.tree_frontier) if latest else [],
    )


def chain_archive(
    *, before: datetime, out: Path, private_key_pem: bytes, by: str = "", dry_run: bool = False
) -> ArchiveSegment | Plan | None:
    """Archive the blocks dated before ``before`` into ``out`` (see the module's steps).

    Returns the recorded segment, the plan alone when ``dry_run``, or None when there is
    nothing to archive. Raises ArchiveError (nothing deleted) when it cannot.
    """
    if before > timezone.now():
        raise ArchiveError("the date is in the future: only the past can be archived")
    try:
        private = signing_key(private_key_pem)
    except CheckpointError as exc:
        raise ArchiveError(str(exc)) from exc
    if dry_run:
        return _verified_plan(before, out)
    try:
        out.mkdir(mode=0o750, parents=True, exist_ok=True)
    except OSError as exc:
        raise ArchiveError(f"cannot use {out} as the archive directory: {exc}") from exc
    # Under the lock from the plan on: a second run into this directory plans after this
    # one has recorded its segment, never to overwrite it.
    with _directory_lock(out):
        plan = _verified_plan(before, out)
        if plan is None:
            return None
        for leftover in out.glob(".segment-*.partial"):  # a crashed run's temporary files
            leftover.unlink()
        _step("planned")
        tree = _write_segment(out, plan)
        _step("segment written")
        _write_checkpoint(out, plan, private, tree.root())
        _step("checkpoint written")
        digest = segment_read_back(out, plan, crypto.public_key_b64(private))
        _step("verified")
        segment = _record_and_delete(plan, out, digest, tree, by)
        _step("deleted")
    return segment


def _verified_plan(before: datetime, out: Path) -> Plan | None:
    report = chain_verify(extra_checks=False)
    if not report.valid:
        raise ArchiveError(
            f"the chain has {report.problem_count} problem(s); archiving would certify them. "
            "Run `manage.py verify_chain` and resolve them first."
        )
    latest = archive_anchor()
    if latest is not None and not (out / latest.file_name).is_file():
        raise ArchiveError(
            f"{out} does not hold the previous segments ({latest.file_name} is in "
            f"{latest.location}): archive into the directory that holds them all"
        )
    return archive_plan(before)


def _step(name: str) -> None:
    """A point between the steps, where the tests inject a crash."""


# --- Writing --------------------------------------------------------------------------------


def _write_segment(out: Path, plan: Plan) -> merkle.Frontier:
    """Write the segment file; returns the tree's compact range up to its last block."""
    tree = merkle.Frontier.from_hex(plan.first_index, plan.frontier)
    rows = (
        Block.objects.filter(index__gte=plan.first_index, index__lte=plan.last_index)
        .order_by("index")
        .values_list(*BLOCK_FIELDS)
        .iterator(chunk_size=STREAM_CHUNK)
    )
    with (
        atomic_file(out / plan.file_name) as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as stream,
    ):
        count = 0
        for row in rows:
            block = dict(zip(BLOCK_FIELDS, row, strict=True))
            tree.append(merkle.block_leaf(block["hash"]))
            stream.write(line(block))
            count += 1
        stream.write(line({"trailer": _trailer(plan, count, tree)}))
    return tree


def _trailer(plan: Plan, count: int, tree: merkle.Frontier) -> dict[str, Any]:
    return {
        "format": ARCHIVE_FORMAT,
        "segment": plan.number,
        "first_index": plan.first_index,
        "last_index": plan.last_index,
        "blocks": count,
        "prev_hash": plan.prev_hash,
        "last_hash": plan.last_hash,
        "last_timestamp": plan.last_timestamp,
        "tree_frontier": [node.hex() for node in tree.hashes()],
        "archived": crypto.format_timestamp(timezone.now()),
    }


def _write_checkpoint(out: Path, plan: Plan, private: Any, root: bytes) -> None:
    checkpoint = crypto.checkpoint_sign(
        private,
        size=plan.last_index + 1,
        head_hash=plan.last_hash,
        tree_root=root.hex(),
        created=crypto.format_timestamp(timezone.now()),
    )
    with atomic_file(out / checkpoint_name(plan.number)) as raw:
        raw.write((json.dumps(checkpoint, indent=2) + "\n").encode())


@contextlib.contextmanager
def _directory_lock(out: Path) -> Iterator[None]:
    """One archive run per directory at a time (a second one fails at once)."""
    with open(out / ".archive.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ArchiveError(f"another archive run is writing to {out}") from None
        yield


# --- Reading back ---------------------------------------------------------------------------


def segment_read_back(out: Path, plan: Plan, public_key: str) -> str:
    """Verify the written segment and its checkpoint against the plan; their SHA-256.

    Every hash is recomputed and every link followed from the plan's prev_hash, so the
    last hash matching the database's means every block matches it (SHA-256)."""
    path = out / plan.file_name
    digest = file_sha256(path)
    tree = merkle.Frontier.from_hex(plan.first_index, plan.frontier)
    expected, prev_hash, trailer = plan.first_index, plan.prev_hash, None
    keys = keyring().keys
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for text in lines:
            row = json.loads(text)
            if "trailer" in row:
                trailer = row["trailer"]
                continue
            computed = crypto.block_hash(
                row["index"], row["timestamp"], row["data"], row["prev_hash"]
            )
            if row["index"] != expected or row["prev_hash"] != prev_hash:
                raise ArchiveError(f"{path}: block {expected} is not where it should be")
            if computed != row["hash"]:
                raise ArchiveError(f"{path}: block {expected} does not hash to its hash")
            key = keys.get(row["key_id"])
            if key is None or crypto.sign(key, row["hash"]) != row["signature"]:
                raise ArchiveError(f"{path}: block {expected}'s signature does not verify")
            tree.append(merkle.block_leaf(row["hash"]))
            expected, prev_hash = expected + 1, row["hash"]
    if expected != plan.last_index + 1 or prev_hash != plan.last_hash:
        raise ArchiveError(f"{path} does not end at block {plan.last_index} as the database")
    if trailer is None or trailer.get("tree_frontier") != [n.hex() for n in tree.hashes()]:
        raise ArchiveError(f"{path} has no trailer, or a wrong one")
    checkpoint = json.loads((out / checkpoint_name(plan.number)).read_text())
    if (
        not crypto.checkpoint_signature_valid(checkpoint, public_key)
        or checkpoint["size"] != plan.last_index + 1
        or checkpoint["head_hash"] != plan.last_hash
        or checkpoint["tree_root"] != tree.root().hex()
    ):
        raise ArchiveError(f"the checkpoint of {path} does not match it")
    return digest


# --- Recording and deleting -----------------------------------------------------------------


def _record_and_delete(
    plan: Plan, out: Path, digest: str, tree: merkle.Frontier, by: str
) -> ArchiveSegment:
    with transaction.atomic():
        latest = ArchiveSegment.objects.select_for_update().order_by("-number").first()
        if (latest.number if latest else 0) != plan.number - 1:
            raise ArchiveError("another archive run recorded a segment meanwhile; run again")
        segment = ArchiveSegment(
            number=plan.number,
            first_index=plan.first_index,
            last_index=plan.last_index,
            last_hash=plan.last_hash,
            last_timestamp=plan.last_timestamp,
            file_name=plan.file_name,
            file_sha256=digest,
            location=str(out.resolve()),
            tree_frontier=[node.hex() for node in tree.hashes()],
            archived_at=timezone.now(),
            archived_by=by,
        )
        ArchiveSegment._base_manager.bulk_create([segment])
        _delete_blocks(plan.first_index, plan.last_index)
    return segment


def _delete_blocks(first: int, last: int) -> None:
    table = connection.ops.quote_name(Block._meta.db_table)
    column = connection.ops.quote_name("index")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config('hostel.ledger_archive', 'on', true)")
        for start in range(first, last + 1, DELETE_BATCH):
            end = min(start + DELETE_BATCH, last + 1)
            cursor.execute(
                f"DELETE FROM {table} WHERE {column} >= %s AND {column} < %s",
                [start, end],
            )
            _step("deleting")
