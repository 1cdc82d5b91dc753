"""block_append(): the only code that writes ledger blocks.

Protocol, in one transaction (a savepoint when the caller already has one, so a domain change
and its block commit or roll back together): lock the single ChainHead row, build the block on
the head, insert it, move the head. On SQLite, IMMEDIATE transactions take the database's
write lock up front; on PostgreSQL, SELECT ... FOR UPDATE on the head row serialises
appenders. Unique constraints on index and prev_hash refuse a fork even if a lock were missed.
"""

import itertools
import json
import logging
import random
import time
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from ledger import crypto
from ledger.keys import keyring
from ledger.models import Block, ChainHead, appending

log = logging.getLogger(__name__)

GENESIS_DATA = {"type": "genesis"}

# PostgreSQL SQLSTATEs worth another try: serialization failure, deadlock, lock timeout.
_RETRYABLE_SQLSTATES = {"40001", "40P01", "55P03"}


class LedgerError(Exception):
    """The block could not be appended; nothing was written."""


class LedgerBusyError(LedgerError):
    """The chain stayed locked by other writers through every retry."""


class LedgerCorruptError(LedgerError):
    """The head row disagrees with the stored blocks; appending would fork the chain."""


def block_append(*, data: Mapping[str, Any]) -> Block:
    """Append one block holding ``data`` (a JSON object with a "type") and return it.

    Creates the genesis block first if the chain is empty. Lock timeouts, deadlocks,
    serialization failures and SQLite's "database is locked" are retried here with
    jittered backoff; callers only ever see LedgerError subclasses for ledger trouble.
    """
    data_json = _validated_json(data)
    attempts = settings.LEDGER_APPEND_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                return _append_locked(data_json)
        except OperationalError as exc:
            if not _is_retryable(exc):
                raise
            if attempt == attempts:
                raise LedgerBusyError(
                    f"the ledger stayed locked through {attempts} attempts; try again"
                ) from exc
            log.debug("ledger append attempt %d hit %s; retrying", attempt, exc)
            time.sleep(random.uniform(0, min(0.02 * 2**attempt, 1.0)))
        except IntegrityError as exc:
            raise LedgerCorruptError(
                "the chain head does not match the stored blocks, so appending would fork "
                "the chain; nothing was written. Run `manage.py verify_chain`."
            ) from exc
    raise AssertionError("unreachable")


def block_append_many(*, items: Iterable[Mapping[str, Any]], batch_size: int = 2000) -> int:
    """Append many blocks under one lock in one transaction (imports, benchmarks).

    Same rules as block_append(); either every item is appended or none is.
    Returns how many blocks were appended.
    """
    with transaction.atomic():
        head = _lock_head()
        keys = keyring()
        size, last_hash, last_timestamp = head.size, head.hash, head.timestamp
        pending: list[Block] = []
        appended = 0
        datas = iter(items)
        if size == 0:
            datas = itertools.chain([None], datas)
        for data in datas:
            data_json = (
                crypto.canonical_json(GENESIS_DATA) if data is None else _validated_json(data)
            )
            block = _build_block(
                index=size,
                prev_hash=last_hash if size else crypto.GENESIS_PREV_HASH,
                prev_timestamp=last_timestamp,
                data_json=data_json,
                keys=keys,
            )
            pending.append(block)
            size, last_hash, last_timestamp = size + 1, block.hash, block.timestamp
            appended += data is not None
            if len(pending) >= batch_size:
                Block._base_manager.bulk_create(pending)
                pending = []
        if pending:
            Block._base_manager.bulk_create(pending)
        ChainHead.objects.filter(pk=ChainHead.SINGLETON).update(
            size=size, hash=last_hash, timestamp=last_timestamp
        )
    return appended


def _validated_json(data: Mapping[str, Any]) -> str:
    if not isinstance(data, Mapping):
        raise LedgerError("block data must be a JSON object")
    kind = data.get("type")
    if not isinstance(kind, str) or not kind:
        raise LedgerError('block data needs a non-empty "type"')
    if kind == GENESIS_DATA["type"]:
        raise LedgerError("the genesis block is created by the ledger itself")
    try:
        data_json = crypto.canonical_json(data)
    except (TypeError, ValueError) as exc:
        raise LedgerError(f"block data must be plain JSON: {exc}") from exc
    if crypto.canonical_json(json.loads(data_json)) != data_json:
        raise LedgerError("block data does not read back identically (use string keys)")
    return data_json


def _is_retryable(exc: OperationalError) -> bool:
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    if sqlstate is not None:
        return sqlstate in _RETRYABLE_SQLSTATES
    message = str(exc)
    return "database is locked" in message or "database table is locked" in message


def _append_locked(data_json: str) -> Block:
    head = _lock_head()
    keys = keyring()
    size, last_hash, last_timestamp = head.size, head.hash, head.timestamp
    if size == 0:
        genesis = _insert_block(
            index=0,
            prev_hash=crypto.GENESIS_PREV_HASH,
            prev_timestamp="",
            data_json=crypto.canonical_json(GENESIS_DATA),
            keys=keys,
        )
        size, last_hash, last_timestamp = 1, genesis.hash, genesis.timestamp
    block = _insert_block(
        index=size,
        prev_hash=last_hash,
        prev_timestamp=last_timestamp,
        data_json=data_json,
        keys=keys,
    )
    ChainHead.objects.filter(pk=ChainHead.SINGLETON).update(
        size=block.index + 1, hash=block.hash, timestamp=block.timestamp
    )
    return block


def _lock_head() -> ChainHead:
    heads = ChainHead.objects.select_for_update()
    try:
        return heads.get(pk=ChainHead.SINGLETON)
    except ChainHead.DoesNotExist:
        if Block.objects.exists():
            raise LedgerCorruptError(
                "the chain head row is missing although blocks exist; nothing was written. "
                "Run `manage.py verify_chain`."
            ) from None
        # A fresh database whose migration row was flushed: recreate it, racing safely.
        ChainHead.objects.bulk_create([ChainHead(pk=ChainHead.SINGLETON)], ignore_conflicts=True)
        return heads.get(pk=ChainHead.SINGLETON)


def _insert_block(
    *, index: int, prev_hash: str, prev_timestamp: str, data_json: str, keys: crypto.Keyring
) -> Block:
    block = _build_block(
        index=index,
        prev_hash=prev_hash,
        prev_timestamp=prev_timestamp,
        data_json=data_json,
        keys=keys,
    )
    token = appending.set(True)
    try:
        block.save(force_insert=True)
    finally:
        appending.reset(token)
    return block


def _build_block(
    *, index: int, prev_hash: str, prev_timestamp: str, data_json: str, keys: crypto.Keyring
) -> Block:
    # A server whose clock lags the last block's writer must not make time run backwards.
    timestamp = max(crypto.format_timestamp(timezone.now()), prev_timestamp)
    block_hash = crypto.block_hash(index, timestamp, data_json, prev_hash)
    return Block(
        index=index,
        timestamp=timestamp,
        data=data_json,
        prev_hash=prev_hash,
        hash=block_hash,
        signature=crypto.sign(keys.current_key, block_hash),
        key_id=keys.current_id,
    )
