"""chain_verify(): read-only, streaming verification of the whole chain (or its tail).

Streams blocks in index order in constant memory and reports every problem with the block's
index and a reason. Other apps add checks (such as replaying their own records from their
events) through ledger.registry.register(checks=...), so the ledger never imports them.
"""

import contextlib
import hashlib
import hmac
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from django.db import transaction
from django.db.models import Subquery
from django.utils import timezone

from ledger import crypto, registry
from ledger.keys import keyring
from ledger.models import Block, ChainHead
from ledger.segments import anchor_confirm, archived_rows
from ledger.selectors import archive_anchor

MAX_PROBLEMS_KEPT = 1000
FUTURE_TOLERANCE = timedelta(minutes=5)  # clock skew between app servers
STREAM_CHUNK = 5000
GENESIS_JSON = crypto.canonical_json({"type": "genesis"})
ROW_FIELDS = (
    "index",
    "timestamp",
    "data",
    "prev_hash",
    "hash",
    "signature",
    "key_id",
    "type",
    "subject",
)


@dataclass(frozen=True)
class Problem:
    index: int | None  # None: a problem of the chain as a whole
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "code": self.code, "message": self.message}


@dataclass
class Report:
    """What a verification run found. Keeps the first MAX_PROBLEMS_KEPT problems."""

    from_index: int = 0
    blocks: int = 0
    head_size: int = 0
    head_hash: str = ""
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was not checked, and why

    @property
    def valid(self) -> bool:
        return self.problem_count == 0

    def add(self, index: int | None, code: str, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(Problem(index, code, message))

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "from_index": self.from_index,
            "blocks": self.blocks,
            "head": {"size": self.head_size, "hash": self.head_hash},
            "problem_count": self.problem_count,
            "problems": [problem.as_dict() for problem in self.problems],
            "notes": self.notes,
        }


# --- The pure core --------------------------------------------------------------------------


class ChainChecker:
    """Checks a run of block rows, in index order, against each other and the keyring.

    ``rows`` are tuples in ROW_FIELDS order. The checker keeps only the previous block's
    index, hash and timestamp, so memory stays constant however long the chain.
    ``subject_keys`` maps an event type to the data key its subject column copies
    (ledger.registry); the subject of any other type must be empty.

    Formats: the timestamp is matched and data parsed as a JSON object for every block. A
    hash or signature equal to one computed here is 64 lowercase hex by construction, and so
    is a prev_hash equal to the previous block's verified hash, so those formats are spelled
    out only when a comparison fails. data's canonical (sorted) form is enforced when the
    block is written and covered by its signature; it is not re-serialised here.
    """

    def __init__(
        self,
        keys: Mapping[str, bytes],
        report: Report,
        *,
        subject_keys: Mapping[str, str],
        expected_index: int = 0,
    ) -> None:
        self.keys = keys
        self.subject_keys = subject_keys
        self.report = report
        self.expected_index = expected_index
        self.last_index: int | None = None
        self.last_hash: str | None = None
        self.last_timestamp = ""

    def check(self, rows: Iterable[tuple[Any, ...]]) -> None:
        # The hot loop of verification: names bound locally, crypto inlined (same formulas
        # as ledger.crypto.block_hash / sign, which the tests hold it to).
        add = self.report.add
        keys = self.keys
        subject_key = self.subject_keys.get
        timestamp_ok = crypto.TIMESTAMP.fullmatch
        sha256 = hashlib.sha256
        hmac_digest = hmac.digest
        loads = orjson.loads
        json_error = orjson.JSONDecodeError
        expected = self.expected_index
        last_index, last_hash, last_ts = self.last_index, self.last_hash, self.last_timestamp
        key_id_seen, key = None, None
        count = 0
        for (
            index,
            timestamp,
            data,
            prev_hash,
            stored_hash,
            signature,
            key_id,
            kind,
            subject,
        ) in rows:
            count += 1
            if index != expected:
                self._sequence_problem(index, expected, last_index)
            if not timestamp_ok(timestamp):
                add(index, "format", f"timestamp {timestamp!r} is not RFC 3339 UTC with µs")
            try:
                parsed = loads(data)
            except json_error:
                parsed = None
            if type(parsed) is not dict:
                add(index, "format", "data is not a JSON object")
            else:
                named_by = subject_key(kind)
                named = str(parsed.get(named_by) or "") if named_by else ""
                if parsed.get("type") != kind or named != subject:
                    add(index, "format", "the type or subject column disagrees with the data")
            if index == 0 and (prev_hash != crypto.GENESIS_PREV_HASH or data != GENESIS_JSON):
                add(index, "format", 'block 0 is not the genesis block {"type": "genesis"}')

            computed = sha256((str(index) + timestamp + data + prev_hash).encode()).hexdigest()
            if computed != stored_hash:
                self._hash_problem(index, stored_hash)
            if key_id != key_id_seen:
                key_id_seen, key = key_id, keys.get(key_id)
            if key is None:
                add(index, "unknown_key", f"signed with unknown key id {key_id!r}")
            elif hmac_digest(key, stored_hash.encode(), "sha256").hex() != signature:
                # Plain comparison: verification is no oracle an attacker can time.
                add(index, "bad_signature", f"signature does not verify with key {key_id!r}")

            if last_hash is not None and prev_hash != last_hash:
                self._link_problem(index, prev_hash, last_index)
            if timestamp < last_ts:
                add(index, "timestamp_backwards", f"timestamp goes back before block {last_index}")
            last_index, last_hash, last_ts = index, stored_hash, timestamp
            expected = index + 1
        self.report.blocks += count
        self.expected_index = expected
        self.last_index, self.last_hash, self.last_timestamp = last_index, last_hash, last_ts

    def _sequence_problem(self, index: int, expected: int, last_index: int | None) -> None:
        if last_index is not None and index == last_index:
            self.report.add(index, "duplicate", f"block {index} appears more than once")
        elif index > expected:
            missing = (
                f"block {expected} is"
                if index == expected + 1
                else f"blocks {expected}..{index - 1} are"
            )
            self.report.add(index, "gap", f"{missing} missing before block {index}")
        else:
            self.report.add(index, "order", f"block {index} comes after block {last_index}")

    def _hash_problem(self, index: int, stored_hash: str) -> None:
        if not crypto.HEX64.fullmatch(stored_hash):
            self.report.add(index, "format", "hash is not 64 lowercase hex digits")
        else:
            self.report.add(index, "hash_mismatch", "stored hash does not match the contents")

    def _link_problem(self, index: int, prev_hash: str, last_index: int | None) -> None:
        if index > 0 and not crypto.HEX64.fullmatch(prev_hash):
            self.report.add(index, "format", "prev_hash is not 64 lowercase hex digits")
        self.report.add(index, "broken_link", f"prev_hash does not match block {last_index}'s hash")


# --- Against the database -------------------------------------------------------------------


def chain_verify(
    *,
    from_index: int = 0,
    extra_checks: bool = True,
    archive: Path | None = None,
    checkpoint_key: str = "",
) -> Report:
    """Verify the stored chain from ``from_index`` (0: all of it). Read-only.

    Reads the head row first and checks blocks below its size, so appends made while a long
    verification runs neither disturb it nor get reported; the next run covers them. With
    ``from_index`` > 0 the block before it is re-checked too, to anchor the link.

    Archived blocks (ledger.archive) are checked only with ``archive``, the directory of
    their segments (then from the start: the segments and the live chain as one chain,
    each segment's checkpoint against ``checkpoint_key`` when given); otherwise the live
    chain is linked to the anchor, the last archived block as recorded, and the report
    says what was not checked.
    """
    if from_index < 0:
        raise ValueError("from_index must be 0 or more")
    if archive is not None and from_index:
        raise ValueError("an archive is verified with the whole chain (from_index 0)")
    with read_snapshot():
        return _verify(from_index, extra_checks, archive, checkpoint_key)


@contextlib.contextmanager
def read_snapshot() -> Iterator[None]:
    """On PostgreSQL, verify inside one REPEATABLE READ, READ ONLY transaction.

    The head, the blocks and any extra check then see one consistent snapshot, and the
    server-side cursor streams (outside a transaction Django declares it WITH HOLD, which
    makes PostgreSQL materialise the whole result before the first row). SQLite reads
    without a transaction: its IMMEDIATE transactions would take the write lock and hold
    up the gates for the whole run.
    """
    connection = transaction.get_connection()
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _verify(
    from_index: int, extra_checks: bool, archive: Path | None, checkpoint_key: str
) -> Report:
    report = Report(from_index=from_index)
    head = ChainHead.objects.filter(pk=ChainHead.SINGLETON).first()
    if head is None:
        has_blocks = Block.objects.exists()
        if has_blocks:
            report.add(None, "head_mismatch", "the chain head row is missing")
        size = Block.objects.count() if has_blocks else 0
    else:
        size = head.size
        report.head_size, report.head_hash = head.size, head.hash
        if from_index > size:  # an incremental run asks from where the head was before
            report.add(
                size,
                "head_mismatch",
                f"verification from block {from_index} was asked, but the chain has only "
                f"{size} blocks: blocks were removed since, or the index is wrong",
            )

    start = max(from_index - 1, 0)
    subject_keys = registry.subject_keys()
    checker = ChainChecker(keyring().keys, report, subject_keys=subject_keys, expected_index=start)
    anchor = archive_anchor()
    if anchor is not None and start <= anchor.last_index + 1:
        if archive is not None:
            checker.check(
                archived_rows(
                    report, archive, subject_keys=subject_keys, checkpoint_key=checkpoint_key
                )
            )
        else:
            if checkpoint_key:
                anchor_confirm(report, anchor, checkpoint_key)
            report.from_index = max(report.from_index, anchor.last_index + 1)
            report.notes.append(
                f"blocks 0..{anchor.last_index} (up to {anchor.last_timestamp}) are archived "
                f"in {anchor.number} segment(s) in {anchor.location}; they were not checked "
                "here (verify_chain --archive DIR checks them with the live chain)"
            )
        if checker.last_index != anchor.last_index or checker.last_hash != anchor.last_hash:
            if archive is not None and checker.last_index is not None:
                report.add(
                    anchor.last_index,
                    "archive_mismatch",
                    f"the archive ends at block {checker.last_index}, not at the recorded "
                    f"anchor (block {anchor.last_index} and its hash)",
                )
            # The live chain continues from the anchor as recorded.
            checker.last_index, checker.last_hash = anchor.last_index, anchor.last_hash
            checker.last_timestamp = anchor.last_timestamp
        checker.expected_index = start = anchor.last_index + 1
        _stray_check(report, anchor.last_index)
    blocks = (
        Block.objects.filter(index__gte=start, index__lt=size)
        .order_by("index")
        .values_list(*ROW_FIELDS)
    )
    checker.check(blocks.iterator(chunk_size=STREAM_CHUNK))

    if head is not None:
        _check_head(report, checker, head, start)
    if extra_checks:  # always: an app's edited records must show next to chain problems too
        for check in registry.extra_checks():
            check(report)
    return report


def _stray_check(report: Report, archived_up_to: int) -> None:
    """No block may be stored where the archive ended the database's blocks."""
    stray = (
        Block.objects.filter(index__lte=archived_up_to)
        .order_by("index")
        .values_list("index", flat=True)
        .first()
    )
    if stray is not None:
        report.add(
            stray,
            "order",
            f"block {stray} is stored, but blocks 0..{archived_up_to} are archived: it was "
            "written after the archive",
        )


def _check_head(report: Report, checker: ChainChecker, head: ChainHead, start: int) -> None:
    if head.size > start and checker.last_index != head.size - 1:
        last = "no block" if checker.last_index is None else f"block {checker.last_index}"
        report.add(
            head.size - 1,
            "head_mismatch",
            f"head says the chain has {head.size} blocks, but the last one is {last}",
        )
    elif head.size > 0 and checker.last_index == head.size - 1:
        if checker.last_hash != head.hash:
            report.add(
                head.size - 1, "head_mismatch", "head hash differs from the last block's hash"
            )
        if checker.last_timestamp != head.timestamp:
            # New blocks are never dated before the head's time: a head set into the future
            # would freeze every later timestamp.
            report.add(
                head.size - 1, "head_mismatch", "head timestamp differs from the last block's"
            )
    latest = max(checker.last_timestamp, head.timestamp)
    limit = crypto.format_timestamp(timezone.now() + FUTURE_TOLERANCE)
    if latest > limit:
        report.add(
            head.size - 1,
            "timestamp_future",
            f"the chain is dated {latest}, in the future: a server clock runs ahead, or the "
            "head or a block was edited",
        )
    # Blocks past the head: one statement, so a concurrent append cannot cause a false alarm.
    current_size = ChainHead.objects.filter(pk=ChainHead.SINGLETON).values("size")
    beyond = (
        Block.objects.filter(index__gte=Subquery(current_size))
        .order_by("index")
        .values_list("index", flat=True)
        .first()
    )
    if beyond is not None:
        report.add(beyond, "beyond_head", f"block {beyond} lies beyond the chain head")
