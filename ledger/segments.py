"""The archive segments read back for chain_verify(archive=DIR) (`verify_chain --archive`).

The database records every segment (ArchiveSegment); this reads each recorded one from the
directory, in order, and hands its blocks to the chain checker as if they were still stored,
so that the archive and the live chain verify as one chain. Around the blocks it checks what
the chain checker cannot see: the file is there and is the one written (SHA-256), its trailer
agrees with the database's record, the Merkle tree's compact range at its end is the one
recorded, and its checkpoint is signed by the trusted key and names its last block.
"""

import contextlib
import gzip
import hashlib
import json
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ledger import crypto, merkle
from ledger.models import ArchiveSegment

if TYPE_CHECKING:
    from ledger.verification import Report

Row = tuple[Any, ...]
BLOCK_KEYS = {"index", "timestamp", "data", "prev_hash", "hash", "signature", "key_id"}
MAX_LINE = 16 * 1024 * 1024  # bytes: no real block comes near


def segment_name(number: int) -> str:
    return f"segment-{number:06d}.jsonl.gz"


def checkpoint_name(number: int) -> str:
    return f"segment-{number:06d}.checkpoint.json"


def archived_rows(
    report: "Report",
    directory: Path,
    *,
    subject_keys: Mapping[str, str],
    checkpoint_key: str = "",
) -> Iterator[Row]:
    """Every archived block, oldest first, as a row for ChainChecker (type and subject taken
    from the data: an archived block has no columns to disagree with it)."""
    tree: merkle.Frontier | None = merkle.Frontier()
    segments: Sequence[ArchiveSegment] = list(ArchiveSegment.objects.order_by("number"))
    for segment in segments:
        path = directory / segment.file_name
        where = f"segment {segment.number} ({segment.file_name}, blocks "
        where += f"{segment.first_index}..{segment.last_index})"
        if not path.is_file():
            report.add(
                segment.first_index,
                "archive_missing",
                f"{where} is not in {directory}: those blocks cannot be checked",
            )
            tree = None  # the roots after a missing segment cannot be recomputed
            continue
        try:
            digest = file_sha256(path)
        except OSError as exc:
            report.add(segment.first_index, "archive_missing", f"{where} cannot be read: {exc}")
            tree = None
            continue
        if digest != segment.file_sha256:
            report.add(
                segment.first_index,
                "archive_altered",
                f"{where}: the file is not the one archived (its SHA-256 differs)",
            )
        trailer: dict[str, Any] = {}
        count = 0
        for row in _rows(report, path, subject_keys, trailer):
            count += 1
            if tree is not None and isinstance(row[4], str) and crypto.HEX64.fullmatch(row[4]):
                tree.append(merkle.block_leaf(row[4]))
            yield row
        _check_trailer(report, segment, where, trailer, count, tree)
        _check_checkpoint(report, segment, directory, checkpoint_key, tree)
    if segments and not checkpoint_key:
        report.notes.append(
            "the segments' checkpoints were not checked: no trusted checkpoint key "
            "(--checkpoint-key or LEDGER_CHECKPOINT_PUBLIC_KEY)"
        )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _rows(
    report: "Report", path: Path, subject_keys: Mapping[str, str], trailer: dict[str, Any]
) -> Iterator[Row]:
    try:
        yield from _read_rows(report, path, subject_keys, trailer)
    except (OSError, EOFError, zlib.error) as exc:  # cut short, not gzip, unreadable
        report.add(None, "archive_altered", f"{path.name} cannot be read to its end: {exc}")


def _read_rows(
    report: "Report", path: Path, subject_keys: Mapping[str, str], trailer: dict[str, Any]
) -> Iterator[Row]:
    with gzip.open(path, "rb") as lines:
        number = 0
        while text := lines.readline(MAX_LINE + 1):
            number += 1
            if len(text) > MAX_LINE:
                report.add(None, "format", f"{path.name} line {number} is too long to be a block")
                return
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError:
                value = None
            if isinstance(value, dict) and set(value) == {"trailer"}:
                trailer.update(value["trailer"] if isinstance(value["trailer"], dict) else {})
                continue
            if (
                not isinstance(value, dict)
                or set(value) != BLOCK_KEYS
                or type(value["index"]) is not int
                or not all(isinstance(value[key], str) for key in BLOCK_KEYS - {"index"})
            ):
                report.add(None, "format", f"{path.name} line {number} is not a block")
                continue
            try:
                data = orjson.loads(value["data"])
            except orjson.JSONDecodeError:
                data = None
            kind = data.get("type") if isinstance(data, dict) else None
            named_by = subject_keys.get(kind) if isinstance(kind, str) else None
            subject = str(data.get(named_by) or "") if named_by and data else ""
            yield (
                value["index"],
                value["timestamp"],
                value["data"],
                value["prev_hash"],
                value["hash"],
                value["signature"],
                value["key_id"],
                kind,
                subject,
            )


def _check_trailer(
    report: "Report",
    segment: ArchiveSegment,
    where: str,
    trailer: Mapping[str, Any],
    count: int,
    tree: merkle.Frontier | None,
) -> None:
    recorded = {
        "segment": segment.number,
        "first_index": segment.first_index,
        "last_index": segment.last_index,
        "blocks": segment.last_index - segment.first_index + 1,
        "last_hash": segment.last_hash,
        "last_timestamp": segment.last_timestamp,
        "tree_frontier": segment.tree_frontier,
    }
    differ = [name for name, value in recorded.items() if trailer.get(name) != value]
    if count != recorded["blocks"]:
        differ.append(f"holds {count} blocks")
    if tree is not None and [node.hex() for node in tree.hashes()] != segment.tree_frontier:
        differ.append("the Merkle tree recomputed")
    if differ:
        report.add(
            segment.last_index,
            "archive_mismatch",
            f"{where} disagrees with the database's record of it: {', '.join(differ)}",
        )


def anchor_confirm(report: "Report", anchor: ArchiveSegment, public_key: str) -> None:
    """Without the archive, hold the anchor the live chain continues from to its segment's
    signed checkpoint, where the archive run wrote it: a forged anchor row (one that hides
    deleted blocks behind a made-up archive) has none that verifies."""
    directory = Path(anchor.location)
    if not (directory / checkpoint_name(anchor.number)).is_file():
        report.add(
            anchor.last_index,
            "archive_missing",
            f"the anchor's signed checkpoint {checkpoint_name(anchor.number)} is not in "
            f"{directory}: the archive cannot be confirmed from here",
        )
        return
    try:
        tree = merkle.Frontier.from_hex(anchor.last_index + 1, anchor.tree_frontier)
    except (TypeError, ValueError):
        report.add(anchor.last_index, "archive_mismatch", "the anchor's tree range is malformed")
        return
    _check_checkpoint(report, anchor, directory, public_key, tree)


def _check_checkpoint(
    report: "Report",
    segment: ArchiveSegment,
    directory: Path,
    public_key: str,
    tree: merkle.Frontier | None,
) -> None:
    if not public_key:
        return
    name = checkpoint_name(segment.number)
    try:
        checkpoint = json.loads((directory / name).read_text())
    except (OSError, ValueError, RecursionError):
        checkpoint = None
    if not isinstance(checkpoint, dict) or not crypto.checkpoint_signature_valid(
        checkpoint, public_key
    ):
        report.add(
            segment.last_index,
            "checkpoint_signature",
            f"the checkpoint {name} is missing, malformed or not signed by the trusted key",
        )
        return
    root = tree.root().hex() if tree is not None else checkpoint.get("tree_root")
    if (checkpoint["size"], checkpoint["head_hash"], checkpoint.get("tree_root")) != (
        segment.last_index + 1,
        segment.last_hash,
        root,
    ):
        report.add(
            segment.last_index,
            "checkpoint_mismatch",
            f"the checkpoint {name} does not name segment {segment.number}'s last block",
        )


def archived_hash(directory: Path, index: int) -> str | None:
    """The hash of archived block ``index`` as its segment in ``directory`` holds it."""
    segment = ArchiveSegment.objects.filter(first_index__lte=index, last_index__gte=index).first()
    if segment is None or not (directory / segment.file_name).is_file():
        return None
    from ledger.verification import Report  # here: verification imports this module

    trailer: dict[str, Any] = {}
    with contextlib.suppress(OSError, EOFError, zlib.error):  # reported by verification
        for row in _read_rows(Report(), directory / segment.file_name, {}, trailer):
            if row[0] == index:
                return str(row[4])
    return None
