"""The auditor's verifier: checks an exported chain without our server, our database or
Django. It needs only Python's standard library, `cryptography` and the pure modules
ledger/crypto.py, ledger/merkle.py and ledger/audit_checks.py (copy the ledger folder's
__init__.py and these four files anywhere and run `python -m ledger.audit`).

    python -m ledger.audit FILE [--hmac-key-file F] [--checkpoint FILE ...]
                                [--checkpoint-key BASE64] [--archive DIR] [--json]

FILE is what `manage.py export_chain` wrote: one block per line as JSON, then a trailer line
(gzip when the name ends in .gz). When the chain's older blocks are archived
(`manage.py archive_chain`), the trailer says so, and --archive DIR checks the segments there
and the export as one chain. docs/ledger-format.md describes the formats and the steps,
which this module follows without sharing any code with the server's verification
(ledger.verification) beyond the formulas in ledger.crypto and ledger.merkle: it is a
second reading.

Without the HMAC keys (an outside auditor has none) it checks formats, hashes, links,
indexes, timestamps, the trailer and checkpoints, and says that signatures were not checked;
with them (--hmac-key-file: one `key_id:key` per line), the signatures too. Problem codes,
block indexes and exit statuses are verify_chain's: 0 valid, 1 problems found, 2 could not
run (an unreadable file or key).
"""

import argparse
import gzip
import json
import re
import sys
import zlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from ledger import crypto
from ledger.audit_checks import (
    BLOCK_FIELDS,
    KEY_ID,
    Audit,
    Walk,
    checkpoint_check,
    is_text,
    receipt_check,
    strict_json,
)

__all__ = ["BLOCK_FIELDS", "Audit", "AuditError", "audit_export", "export_lines", "main"]

EXPORT_FORMAT = "hostel-ledger-export/1"
ARCHIVE_FORMAT = "hostel-ledger-archive/1"
MAX_LINE = 16 * 1024 * 1024  # characters: no real block comes near
FUTURE_TOLERANCE = timedelta(minutes=5)  # clock skew, as verify_chain allows
SEGMENT = re.compile(r"segment-([0-9]{6})\.jsonl\.gz")


class AuditError(Exception):
    """The audit could not run (exit status 2); the message says why."""


def audit_export(
    lines: Iterable[str],
    *,
    keys: dict[str, bytes] | None = None,
    checkpoints: Sequence[tuple[str, dict[str, Any]]] = (),
    checkpoint_key: str = "",
    archived: dict[str, Any] | None = None,
    archive: Path | None = None,
) -> Audit:
    """Check an export's lines; ``keys`` (HMAC keys by id) to check signatures too, and
    ``checkpoints`` (name, parsed file) against the trusted ``checkpoint_key``.

    ``archived`` is the export trailer's "archived" object when the chain's older blocks
    are archived (read first: export_trailer()); then the segments in ``archive`` are
    checked before the export, as one chain, or without it the export is linked to the
    anchor the trailer names."""
    audit = Audit(signatures_checked=keys is not None)
    checkpoints = list(checkpoints)
    if archived is not None and archive is not None:
        checkpoints += _segment_checkpoints(audit, archive, archived, bool(checkpoint_key))
    sizes = {c["size"] for _, c in checkpoints if type(c.get("size")) is int and c["size"] > 0}
    walk = Walk(audit, keys=keys, hashes_wanted={size - 1 for size in sizes}, roots_wanted=sizes)
    if archived is not None:
        _walk_archive(walk, archived, archive)
    trailer, count = walk.lines(lines, "the export")
    _check_trailer(audit, walk, trailer, count)
    if archived is not None and archive is not None:
        audit.from_index = 0  # the segments and the export: the whole chain
    for name, checkpoint in checkpoints:
        checkpoint_check(walk, name, checkpoint, checkpoint_key)
    if keys is None:
        audit.notes.append(
            "signatures were not checked (no HMAC key given): anyone could have re-hashed "
            "the chain; only a checkpoint or the key holder's check rules that out"
        )
    if walk.file_first and archived is None:
        audit.notes.append(
            f"the export starts at block {walk.file_first}: its link to the block before was "
            "not checked"
        )
    return audit


def _walk_archive(walk: Walk, archived: dict[str, Any], archive: Path | None) -> None:
    audit = walk.audit
    last = archived.get("last_index")
    if type(last) is not int or type(archived.get("segments")) is not int:
        audit.add(None, "format", "the trailer's archived object is not in its format")
        return
    if archive is None:
        audit.notes.append(
            f"blocks 0..{last} are archived in {archived['segments']} segment(s), which were "
            "not checked: give --archive DIR to check them with the export as one chain"
        )
        walk.seed(
            last,
            str(archived.get("last_hash")),
            str(archived.get("last_timestamp")),
            archived.get("tree_frontier"),
        )
        return
    last_present = max(_segment_numbers(archive), default=0)
    for number in range(1, archived["segments"] + 1):
        path = archive / segment_name(number)
        if number > last_present:  # one problem for them all, however many are claimed
            audit.add(
                None,
                "archive_missing",
                f"segments {number}..{archived['segments']} are not in {archive}",
            )
            walk.tree = None
            break
        if not path.is_file():
            audit.add(None, "archive_missing", f"{path.name} is not in {archive}")
            walk.tree = None
            continue
        try:
            trailer, count = walk.lines(export_lines(path), path.name)
        except (OSError, EOFError, UnicodeError, zlib.error) as exc:  # cut short, not gzip
            audit.add(None, "archive_altered", f"{path.name} cannot be read to its end: {exc}")
            walk.tree = None
            continue
        _check_segment_trailer(walk, path.name, number, trailer, count)
    extra = [segment_name(n) for n in sorted(_segment_numbers(archive)) if n > archived["segments"]]
    if extra:
        audit.notes.append(
            f"{', '.join(extra)} in {archive} are not part of this export's chain (an archive "
            "run that did not finish, or one made after the export); not checked"
        )
    anchor = (archived.get("last_index"), archived.get("last_hash"))
    if (walk.last_index, walk.last_hash) != anchor:
        audit.add(
            last,
            "archive_mismatch",
            f"the archive ends at block {walk.last_index}, not at the anchor the export "
            f"continues from (block {last} and its hash)",
        )
        walk.seed(last, str(archived.get("last_hash")), "", archived.get("tree_frontier"))


def _segment_numbers(archive: Path) -> set[int]:
    return {
        int(match[1])
        for path in archive.glob("segment-*.jsonl.gz")
        if (match := SEGMENT.fullmatch(path.name))
    }


def _check_segment_trailer(
    walk: Walk, name: str, number: int, trailer: dict[str, Any] | None, count: int
) -> None:
    """A segment's trailer must state what the segment holds (the blocks were just read)."""
    stated = trailer or {}
    held = {
        "format": ARCHIVE_FORMAT,
        "segment": number,
        "last_index": walk.last_index,
        "blocks": count,
        "last_hash": walk.last_hash,
        "last_timestamp": walk.last_timestamp,
    }
    differ = [key for key, value in held.items() if stated.get(key) != value]
    if walk.last_index is not None and stated.get("first_index") != walk.last_index - count + 1:
        differ.append("first_index")
    if walk.tree is not None and stated.get("tree_frontier") != [
        node.hex() for node in walk.tree.hashes()
    ]:
        differ.append("tree_frontier")
    if differ:
        walk.audit.add(
            walk.last_index,
            "archive_mismatch",
            f"{name}'s trailer disagrees with its blocks: {', '.join(differ)}",
        )


def _segment_checkpoints(
    audit: Audit, archive: Path, archived: dict[str, Any], have_key: bool
) -> list[tuple[str, dict[str, Any]]]:
    segments = archived.get("segments")
    if type(segments) is not int:
        return []
    if not have_key:
        audit.notes.append("the segments' checkpoints were not checked: no --checkpoint-key given")
        return []
    found = []
    for number in range(1, min(segments, max(_segment_numbers(archive), default=0)) + 1):
        path = archive / checkpoint_name(number)
        try:
            found.append((path.name, _checkpoint(path)))
        except AuditError:
            audit.add(None, "checkpoint_signature", f"{path.name} is missing or unreadable")
    return found


def segment_name(number: int) -> str:
    return f"segment-{number:06d}.jsonl.gz"


def checkpoint_name(number: int) -> str:
    return f"segment-{number:06d}.checkpoint.json"


def _check_trailer(audit: Audit, walk: Walk, trailer: dict[str, Any] | None, count: int) -> None:
    """The trailer states the chain head when the export was made. The export holds every
    block from its start, head or not: blocks past the head, a head that is missing or that
    disagrees with its block, and timestamps after the export are reported as verify_chain
    reports them. An export cut short (no trailer) is caught; one cut and given a new
    trailer is caught only by a checkpoint (the trailer is not signed)."""
    if trailer is None:
        audit.add(None, "head_mismatch", "the export has no trailer: it was cut short")
        return
    size, starts, stated = trailer.get("size"), trailer.get("from_index"), trailer.get("blocks")
    archived = trailer.get("archived")
    if (
        trailer.get("format") != EXPORT_FORMAT
        or type(starts) is not int
        or type(stated) is not int
        or not (size is None or type(size) is int)
        or not is_text(trailer.get("exported"))
        or not (archived is None or isinstance(archived, dict))
    ):
        audit.add(None, "format", f"the trailer is not a {EXPORT_FORMAT} trailer")
        return
    audit.from_index = starts
    if stated != count:
        audit.add(None, "format", f"the trailer counts {stated} blocks, the file holds {count}")
    first, last_index = walk.file_first, walk.last_index
    if archived is not None and type(archived.get("last_index")) is int:
        anchor = archived["last_index"] + 1  # the export continues the archive
    else:
        anchor = max(starts - 1, 0)  # from block N on, block N-1 anchors the link
    if first is not None and first != anchor:
        audit.add(first, "gap", f"the export starts at block {first}, not {anchor}")
    if size is None:
        if last_index is not None:
            audit.add(None, "head_mismatch", "the chain head row is missing")
        return
    head_hash, head_time = str(trailer.get("head_hash") or ""), trailer.get("head_timestamp")
    audit.head_size, audit.head_hash = size, head_hash
    if last_index is not None and last_index >= size:
        beyond = max(size, anchor)
        audit.add(beyond, "beyond_head", f"block {beyond} lies beyond the chain head")
    at_head = next((block for block in walk.recent if block[0] == size - 1), None)
    if size > anchor and at_head is None and (last_index is None or last_index < size - 1):
        last = "no block" if last_index is None else f"block {last_index}"
        audit.add(size - 1, "head_mismatch", f"the head says {size} blocks, but the last is {last}")
    elif at_head is not None:
        if at_head[1] != head_hash:
            audit.add(size - 1, "head_mismatch", "head hash differs from the last block's hash")
        if at_head[2] != head_time:
            audit.add(size - 1, "head_mismatch", "head timestamp differs from the last block's")
    latest = max((block[2] for block in walk.recent), default="")
    exported_at = str(trailer["exported"])
    if crypto.TIMESTAMP.fullmatch(exported_at) and max(latest, str(head_time or "")) > _later(
        exported_at
    ):
        audit.add(
            max(size - 1, 0),
            "timestamp_future",
            f"the chain is dated after the export was made ({exported_at}): a clock ran "
            "ahead, or the head or a block was edited",
        )


def _later(timestamp: str) -> str:
    moment = datetime.fromisoformat(timestamp) + FUTURE_TOLERANCE
    return crypto.format_timestamp(moment)


# --- Files and the command line -------------------------------------------------------------


def export_lines(path: Path) -> Iterator[str]:
    """The lines of an export, gzip or not, streamed; a line longer than MAX_LINE is cut
    (and then fails as JSON) so that no line can take the memory."""
    opener = gzip.open if path.name.endswith(".gz") else open
    handle: IO[str]
    with opener(path, "rt", encoding="utf-8", newline="\n") as handle:
        while line := handle.readline(MAX_LINE + 1):
            if len(line) > MAX_LINE:
                while (rest := handle.readline(MAX_LINE)) and not rest.endswith("\n"):
                    pass
                yield "<a line longer than the limit>"
                continue
            yield line


def export_archived(path: Path) -> dict[str, Any] | None:
    """The export trailer's "archived" object (None when nothing is archived, or there is no
    readable trailer: the audit then reports what is wrong with it)."""
    last = ""
    for line in export_lines(path):
        last = line
    trailer = strict_json(last)
    if isinstance(trailer, dict) and isinstance(trailer.get("trailer"), dict):
        archived = trailer["trailer"].get("archived")
        return archived if isinstance(archived, dict) else None
    return None


def hmac_keys(path: Path) -> dict[str, bytes]:
    """HMAC keys from a file of `key_id:key` lines (blank lines and # comments ignored)."""
    keys: dict[str, bytes] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        key_id, sep, secret = line.partition(":")  # the key is everything after the colon
        if not sep or not KEY_ID.fullmatch(key_id) or not secret:
            raise AuditError(f"{path} line {number}: expected key_id:key")
        if key_id in keys:
            raise AuditError(f"{path} line {number}: key id {key_id!r} appears twice")
        keys[key_id] = secret.encode()
    if not keys:
        raise AuditError(f"{path} holds no key")
    return keys


def main(argv: list[str] | None = None, out: IO[str] = sys.stdout) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ledger.audit",
        description="Verify an exported hostel ledger without the server. Exit status: 0 "
        "valid, 1 problems found, 2 could not run.",
    )
    parser.add_argument("file", type=Path, nargs="?", help="what manage.py export_chain wrote")
    parser.add_argument(
        "--receipt",
        type=Path,
        metavar="FILE",
        help="check a receipt (one event, its proof and checkpoint) instead of an export",
    )
    parser.add_argument("--hmac-key-file", type=Path, help="key_id:key lines: check signatures")
    parser.add_argument("--checkpoint", type=Path, action="append", default=[], metavar="FILE")
    parser.add_argument("--checkpoint-key", default="", metavar="BASE64")
    parser.add_argument(
        "--archive", type=Path, metavar="DIR", help="the archive segments (archive_chain)"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    options = parser.parse_args(argv)
    if (options.file is None) == (options.receipt is None):
        parser.error("give an export FILE, or --receipt FILE")
    if options.receipt is not None:
        return _receipt_main(options.receipt, options.checkpoint_key, options.json, out)
    try:
        keys = hmac_keys(options.hmac_key_file) if options.hmac_key_file else None
        checkpoints = [(p.name, _checkpoint(p)) for p in options.checkpoint]
        if checkpoints and not options.checkpoint_key:
            raise AuditError("--checkpoint needs --checkpoint-key BASE64 (the trusted key)")
        if checkpoints or options.checkpoint_key:
            try:
                crypto.public_key_check(options.checkpoint_key)
            except ValueError as exc:
                raise AuditError(f"--checkpoint-key: {exc}") from None
        if options.archive is not None and not options.archive.is_dir():
            raise AuditError(f"--archive {options.archive} is not a directory")
        audit = audit_export(
            export_lines(options.file),
            keys=keys,
            checkpoints=checkpoints,
            checkpoint_key=options.checkpoint_key,
            archived=export_archived(options.file),
            archive=options.archive,
        )
    except (AuditError, OSError, UnicodeError, EOFError, zlib.error) as exc:
        print(f"cannot audit: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # whatever else a hostile file provokes: no verdict, no trace
        print(f"cannot audit: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if options.json:
        print(json.dumps(audit.as_dict(), indent=2), file=out)
    else:
        print(_summary(audit), file=out)
    return 0 if audit.valid else 1


def _receipt_main(path: Path, public_key: str, as_json: bool, out: IO[str]) -> int:
    if not public_key:
        print(
            "cannot check the receipt: --checkpoint-key BASE64 is required (the checkpoint "
            "public key the hostel publishes)",
            file=sys.stderr,
        )
        return 2
    try:
        crypto.public_key_check(public_key)
        text = path.read_text(encoding="utf-8")
    except ValueError as exc:
        print(f"cannot check the receipt: --checkpoint-key: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cannot check the receipt: {exc}", file=sys.stderr)
        return 2
    receipt = strict_json(text)
    audit = receipt_check(receipt, public_key)
    if as_json:
        print(json.dumps(audit.as_dict(), indent=2), file=out)
    elif audit.valid:
        block, checkpoint = receipt["block"], receipt["checkpoint"]
        print(
            f"Receipt valid: block {block['index']}, recorded at {block['timestamp']} (UTC), "
            f"is in the ledger of {checkpoint['size']} blocks that the checkpoint key signed "
            f"at {checkpoint['created']}.\nThe event as recorded: {block['data']}",
            file=out,
        )
    else:
        lines = ["Receipt INVALID:"]
        lines += [f"  {problem['code']}: {problem['message']}" for problem in audit.problems]
        print("\n".join(lines), file=out)
    return 0 if audit.valid else 1


def _checkpoint(path: Path) -> dict[str, Any]:
    try:
        checkpoint = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AuditError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(checkpoint, dict):
        raise AuditError(f"checkpoint {path} is not a JSON object")
    return checkpoint


def _summary(audit: Audit) -> str:
    scope = f"from block {audit.from_index}" if audit.from_index else "whole chain"
    head = f"head: {audit.head_size} blocks, hash {audit.head_hash or '-'}"
    if audit.valid:
        lines = [f"Ledger valid: {audit.blocks} blocks checked ({scope}); {head}"]
    else:
        lines = [
            f"Ledger INVALID: {audit.problem_count} problem(s) in {audit.blocks} blocks "
            f"checked ({scope}); {head}"
        ]
        for problem in audit.problems:
            where = "chain" if problem["index"] is None else f"block {problem['index']}"
            lines.append(f"  {where}: {problem['code']}: {problem['message']}")
        if audit.problem_count > len(audit.problems):
            lines.append(f"  ... and {audit.problem_count - len(audit.problems)} more")
    lines += [f"note: {note}" for note in audit.notes]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
