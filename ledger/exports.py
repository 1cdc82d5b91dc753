"""The chain as a file an auditor checks without us (python -m ledger.audit FILE).

One block per line, as JSON: exactly the stored fields (``data`` is the stored text, the
very characters that were hashed), in index order, every block from the start (from block N
on: from N-1, which anchors the link) to the last one stored, whatever the head says; then a
trailer line with the chain head as it was (size, hash, time; a missing head row is a null
size). The audit holds the blocks to the head as verify_chain does, so moving the head back
cannot hide the newest blocks from an export. Blocks archived (ledger.archive) are not
stored: the export then starts after the anchor, which its trailer names ("archived") so that
`python -m ledger.audit FILE --archive DIR` checks the segments and the export as one chain.

Read in one snapshot (PostgreSQL: REPEATABLE READ; SQLite in WAL mode: a deferred read
transaction, which never blocks the gates' writes). gzip when the file name ends in .gz.
Streamed in constant memory; written to a new temporary file (mode 0600: it holds
residents' names) beside the target, synced, renamed, and the directory synced, so a failed
export never leaves a file that looks complete. docs/ledger-format.md has the format.
"""

import contextlib
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from ledger import crypto
from ledger.audit import BLOCK_FIELDS, EXPORT_FORMAT
from ledger.files import atomic_file
from ledger.models import ArchiveSegment, Block, ChainHead
from ledger.selectors import archive_anchor
from ledger.verification import STREAM_CHUNK, read_snapshot


def chain_export(path: Path, *, from_index: int = 0) -> dict[str, Any]:
    """Write the chain from block ``from_index`` on to ``path``; returns the trailer."""
    if from_index < 0:
        raise ValueError("from_index must be 0 or more")
    with atomic_file(path) as raw:
        return _write(raw, path.name.endswith(".gz"), from_index)


def _write(raw: IO[bytes], gz: bool, from_index: int) -> dict[str, Any]:
    with _snapshot():
        head = ChainHead.objects.filter(pk=ChainHead.SINGLETON).first()
        if from_index > (head.size if head else 0):
            raise ValueError(
                f"there is no block {from_index}: the chain has {head.size if head else 0}"
            )
        anchor = archive_anchor()
        start = max(from_index - 1, 0)
        stored = Q(index__gte=start)
        continues = anchor is not None and start <= anchor.last_index
        if anchor is not None and continues:
            # The archived blocks are in their segments; the export continues from them,
            # with any block stored where they were (written after the archive: the audit
            # reports it).
            start = from_index = anchor.last_index + 1
            stored = Q(index__gte=start) | Q(index__lte=anchor.last_index)
        rows = (
            Block.objects.filter(stored)
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
                out.write(line(dict(zip(BLOCK_FIELDS, row, strict=True))))
                count += 1
            trailer = {
                "format": EXPORT_FORMAT,
                "from_index": from_index,
                "blocks": count,
                "size": head.size if head else None,
                "head_hash": head.hash if head else "",
                "head_timestamp": head.timestamp if head else "",
                "exported": crypto.format_timestamp(timezone.now()),
                "archived": _archived(anchor) if anchor is not None and continues else None,
            }
            out.write(line({"trailer": trailer}))
        finally:
            if out is not raw:
                out.close()
    return trailer


def _archived(anchor: ArchiveSegment) -> dict[str, Any]:
    """What the archive holds: segments 1..N, the anchor the export's first block links to."""
    return {
        "segments": anchor.number,
        "last_index": anchor.last_index,
        "last_hash": anchor.last_hash,
        "last_timestamp": anchor.last_timestamp,
        "tree_frontier": anchor.tree_frontier,
    }


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


def line(value: dict[str, Any]) -> bytes:
    """One line of an export or an archive segment: compact JSON, text as it is (UTF-8)."""
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
