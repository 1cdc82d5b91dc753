"""The chain as a file an auditor checks without us (python -m ledger.audit FILE).

One block per line, as JSON: exactly the stored fields (``data`` is the stored text, the
very characters that were hashed), in index order, every block from the start (from block N
on: from N-1, which anchors the link) to the last one stored, whatever the head says; then a
trailer line with the chain head as it was (size, hash, time; a missing head row is a null
size). The audit holds the blocks to the head as verify_chain does, so moving the head back
cannot hide the newest blocks from an export.

Read in one snapshot (PostgreSQL: REPEATABLE READ; SQLite in WAL mode: a deferred read
transaction, which never blocks the gates' writes). gzip when the file name ends in .gz.
Streamed in constant memory; written to a new temporary file (mode 0600: it holds
residents' names) beside the target, synced, renamed, and the directory synced, so a failed
export never leaves a file that looks complete. docs/ledger-format.md has the format.
"""

import contextlib
import gzip
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from django.db import connection
from django.utils import timezone

from ledger import crypto
from ledger.audit import BLOCK_FIELDS, EXPORT_FORMAT
from ledger.models import Block, ChainHead
from ledger.verification import STREAM_CHUNK, read_snapshot


def chain_export(path: Path, *, from_index: int = 0) -> dict[str, Any]:
    """Write the chain from block ``from_index`` on to ``path``; returns the trailer."""
    if from_index < 0:
        raise ValueError("from_index must be 0 or more")
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    partial = Path(name)
    try:
        with os.fdopen(handle, "wb") as raw:
            trailer = _write(raw, path.name.endswith(".gz"), from_index)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return trailer


def _write(raw: IO[bytes], gz: bool, from_index: int) -> dict[str, Any]:
    with _snapshot():
        head = ChainHead.objects.filter(pk=ChainHead.SINGLETON).first()
        rows = (
            Block.objects.filter(index__gte=max(from_index - 1, 0))
            .order_by("index")
            .values_list(*BLOCK_FIELDS)
            .iterator(chunk_size=STREAM_CHUNK)
        )
        out: IO[bytes] | gzip.GzipFile = raw
        if gz:
            out = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0)
        try:
            count = 0
            for row in rows:
                out.write(_line(dict(zip(BLOCK_FIELDS, row, strict=True))))
                count += 1
            trailer = {
                "format": EXPORT_FORMAT,
                "from_index": from_index,
                "blocks": count,
                "size": head.size if head else None,
                "head_hash": head.hash if head else "",
                "head_timestamp": head.timestamp if head else "",
                "exported": crypto.format_timestamp(timezone.now()),
            }
            out.write(_line({"trailer": trailer}))
        finally:
            if out is not raw:
                out.close()
        raw.flush()
        os.fsync(raw.fileno())
    return trailer


@contextlib.contextmanager
def _snapshot() -> Iterator[None]:
    """The head and the blocks as of one moment, on either database."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        with read_snapshot():
            yield
        return
    # Django's SQLite transactions are IMMEDIATE (they take the write lock); a plain
    # deferred one only reads, and in WAL mode sees one snapshot while the gates write on.
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN DEFERRED")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("COMMIT")


def _line(value: dict[str, Any]) -> bytes:
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
