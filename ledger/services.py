"""block_append(): the only code that writes ledger blocks.

Protocol, in one transaction (the caller's, when it has one, so that a domain change and its
block commit or roll back together): lock the single ChainHead row, build the block on the
head, insert it, move the head. On SQLite, IMMEDIATE transactions take the database's
write lock up front; on PostgreSQL, SELECT ... FOR UPDATE on the head row serialises
appenders. Unique constraints on index and prev_hash refuse a fork even if a lock were missed.
"""

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from django.utils import timezone

from hostel.errors import DomainError
from ledger import crypto, registry
from ledger.keys import keyring
from ledger.models import Block, ChainHead, VerificationRun
from ledger.verification import Report, chain_verify

log = logging.getLogger(__name__)

GENESIS_DATA = {"type": "genesis"}

# PostgreSQL SQLSTATEs worth another try: serialization failure, deadlock, lock timeout.
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}


class LedgerError(DomainError):
    """The block could not be appended; nothing was written."""


class LedgerBusyError(LedgerError):
    """The chain stayed locked by other writers through every retry."""

    def __init__(self, message: str) -> None:
        super().__init__("ledger_busy", message)


class LedgerCorruptError(LedgerError):
    """The head row disagrees with the stored blocks; appending would fork the chain."""

    def __init__(self, message: str) -> None:
        super().__init__("ledger_error", message)


_FORK = (
    "the chain head does not match the stored blocks, so appending would fork the chain; "
    "nothing was written. Run `manage.py verify_chain`."
)

_SURROGATE = re.compile("[\ud800-\udfff]")  # Python text holds pairs as one character

# An event ready to append: its canonical JSON text, its type and its subject.
_Event = tuple[str, str, str]


def block_append(*, data: Mapping[str, Any], subject: str = "") -> Block:
    """Append one block holding ``data`` (a JSON object with a "type") and return it.

    ``subject`` is the id of what the event concerns, stored in the indexed Block.subject
    column; it must be the value of the data key that the event's type registered as its
    subject (ledger.registry), or empty when the type names none.

    Creates the genesis block first if the chain is empty. Outside a transaction, lock
    timeouts, deadlocks, serialization failures and SQLite's "database is locked" are
    retried here with jittered backoff; inside the caller's, they end it (LedgerBusyError)
    and the caller's transaction must roll back: a caller that wants to go on after a
    LedgerError wraps the call in an atomic block of its own. Callers only ever see
    LedgerError subclasses for ledger trouble.
    """
    event = _validated(data, subject)
    # Inside the caller's transaction (a scan, a registration), its change and this block
    # commit or roll back as one: no savepoint and one attempt. A savepoint costs two
    # statements on every scan, to retry what practically never happens (appends take the
    # head lock last, so they do not deadlock; a lock timeout of DATABASE_LOCK_TIMEOUT
    # seconds means a writer is stuck, and waiting another such spell would only keep the
    # guard waiting); on SQLite the caller's IMMEDIATE transaction already holds the lock.
    nested = transaction.get_connection().in_atomic_block
    attempts = 1 if nested else settings.LEDGER_APPEND_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic(savepoint=not nested):
                return _append_locked(event)
        except OperationalError as exc:
            if not _is_retryable(exc):
                raise
            if attempt == attempts:
                raise LedgerBusyError(
                    "The ledger is busy (locked by another writer); nothing was recorded. "
                    "Try again."
                ) from exc
            log.debug("ledger append attempt %d hit %s; retrying", attempt, exc)
            time.sleep(random.uniform(0, min(0.02 * 2**attempt, 1.0)))
        except IntegrityError as exc:
            raise LedgerCorruptError(_FORK) from exc
    raise AssertionError("unreachable")


def block_append_many(
    *, items: Iterable[tuple[Mapping[str, Any], str]], batch_size: int = 2000
) -> int:
    """Append many (data, subject) events under one lock in one transaction (imports,
    benchmarks). Same rules as block_append(); either every item is appended or none is.
    Returns how many blocks were appended.
    """
    with transaction.atomic():
        tip = _Tip.locked()
        before = tip.size
        batch: list[Block] = []
        for block in tip.extend(_validated(data, subject) for data, subject in items):
            batch.append(block)
            if len(batch) >= batch_size:
                _insert(batch)
                batch = []
        _insert(batch)
        tip.move_head()
    return tip.size - before - (before == 0)  # the genesis block is not one of the items


def verification_run(
    *,
    trigger: str,
    by: str = "",
    from_index: int = 0,
    also: Iterable[Callable[[Report], None]] = (),
    record: bool = True,
    archive: Path | None = None,
    checkpoint_key: str = "",
) -> tuple[Report, VerificationRun | None]:
    """Verify the chain, run the ``also`` checks on the report (checkpoints), and record
    the outcome for the dashboard unless ``record`` is false.

    The run is returned as None when it was not recorded: not asked for, or the database
    refused the write (a read-only role verifying); the report stands either way.
    """
    started_at = timezone.now()
    report = chain_verify(from_index=from_index, archive=archive, checkpoint_key=checkpoint_key)
    for check in also:
        check(report)
    if not record:
        return report, None
    try:
        with transaction.atomic():
            run = _verification_record(report=report, started_at=started_at, trigger=trigger, by=by)
    except DatabaseError as exc:
        log.warning("a verification run was not recorded: %s", exc)
        return report, None
    return report, run


def _verification_record(
    *, report: Report, started_at: datetime, trigger: str, by: str = ""
) -> VerificationRun:
    """Keep the outcome of a verification run for the dashboard (not a block: a record)."""
    return VerificationRun.objects.create(
        started_at=started_at,
        finished_at=timezone.now(),
        valid=report.valid,
        blocks=report.blocks,
        problem_count=report.problem_count,
        problems=[problem.as_dict() for problem in report.problems[:20]],
        trigger=trigger,
        by=by,
    )


def _validated(data: Mapping[str, Any], subject: str) -> _Event:
    if not isinstance(data, Mapping):
        raise LedgerError("invalid_event", "block data must be a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str) or not kind or len(kind) > 32:
        raise LedgerError("invalid_event", 'block data needs a "type" of 1 to 32 characters')
    if kind == GENESIS_DATA["type"]:
        raise LedgerError("invalid_event", "the genesis block is created by the ledger itself")
    if not isinstance(subject, str) or len(subject) > 64:
        raise LedgerError("invalid_event", "the subject must be text of at most 64 characters")
    key = registry.subject_keys().get(kind, "")
    named = data.get(key) if key else None
    if named is not None and not isinstance(named, str):
        raise LedgerError("invalid_event", f"a {kind!r} event's {key!r} must be text")
    if subject != (named or ""):
        should = f"the value of its {key!r}" if key else "empty (its type names no subject)"
        raise LedgerError("invalid_event", f"a {kind!r} event's subject must be {should}")
    try:
        data_json = crypto.canonical_json(data)
    except (TypeError, ValueError) as exc:
        raise LedgerError("invalid_event", f"block data must be plain JSON: {exc}") from exc
    if crypto.canonical_json(json.loads(data_json)) != data_json:
        raise LedgerError(
            "invalid_event", "block data does not read back identically (use string keys)"
        )
    if not _storable(data):
        # PostgreSQL's jsonb (the field filters' index) refuses both; so would many readers.
        raise LedgerError(
            "invalid_event", "block data may not hold NUL characters or unpaired surrogates"
        )
    return data_json, kind, subject


def _storable(value: Any) -> bool:
    """No NUL and no unpaired surrogate in any text of ``value``, keys included."""
    if isinstance(value, str):
        return "\x00" not in value and not _SURROGATE.search(value)
    if isinstance(value, Mapping):
        return all(_storable(key) and _storable(item) for key, item in value.items())
    if isinstance(value, list | tuple):
        return all(_storable(item) for item in value)
    return True


def _is_retryable(exc: OperationalError) -> bool:
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _RETRYABLE_SQLSTATES
    message = str(exc)
    return "database is locked" in message or "database table is locked" in message


def _append_locked(event: _Event) -> Block:
    tip = _Tip.locked()
    blocks = list(tip.extend([event]))
    _insert(blocks)
    tip.move_head()
    return blocks[-1]


@dataclass
class _Tip:
    """The end of the chain as read under the head lock; builds the blocks that extend it."""

    size: int
    hash: str
    timestamp: str
    keys: crypto.Keyring

    @classmethod
    def locked(cls) -> "_Tip":
        head = _lock_head()
        return cls(head.size, head.hash, head.timestamp, keyring())

    def extend(self, events: Iterable[_Event]) -> Iterator[Block]:
        """Blocks holding each event in turn, after the genesis block if none exists."""
        if self.size == 0:
            yield self._next((crypto.canonical_json(GENESIS_DATA), GENESIS_DATA["type"], ""))
        for event in events:
            yield self._next(event)

    def _next(self, event: _Event) -> Block:
        data_json, kind, subject = event
        index = self.size
        prev_hash = self.hash if index else crypto.GENESIS_PREV_HASH
        # A server whose clock lags the last block's writer must not make time run backwards.
        timestamp = max(crypto.format_timestamp(timezone.now()), self.timestamp)
        block_hash = crypto.block_hash(index, timestamp, data_json, prev_hash)
        self.size, self.hash, self.timestamp = index + 1, block_hash, timestamp
        return Block(
            index=index,
            timestamp=timestamp,
            data=data_json,
            prev_hash=prev_hash,
            hash=block_hash,
            signature=crypto.sign(self.keys.current_key, block_hash),
            key_id=self.keys.current_id,
            type=kind,
            subject=subject,
        )

    def move_head(self) -> None:
        ChainHead.objects.filter(pk=ChainHead.SINGLETON).update(
            size=self.size, hash=self.hash, timestamp=self.timestamp
        )


def _insert(blocks: list[Block]) -> None:
    # The base manager's plain bulk insert: Block.save() and the public manager refuse.
    if blocks:
        Block._base_manager.bulk_create(blocks)


def _lock_head() -> ChainHead:
    heads = ChainHead.objects.select_for_update()
    try:
        head = heads.get(pk=ChainHead.SINGLETON)
    except ChainHead.DoesNotExist:
        # The migration creates this row; recreate it if it was flushed. Concurrent writers
        # race safely: one insert wins, the others wait for it and then lock the same row.
        ChainHead.objects.bulk_create([ChainHead(pk=ChainHead.SINGLETON)], ignore_conflicts=True)
        head = heads.get(pk=ChainHead.SINGLETON)
    # Checked only now, under the lock: blocks and head always commit together.
    if head.size == 0 and Block.objects.exists():
        raise LedgerCorruptError(
            "the chain head says the chain is empty although blocks exist; nothing was "
            "written. Run `manage.py verify_chain`."
        )
    return head
