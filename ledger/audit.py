"""The auditor's verifier: checks an exported chain without our server, our database or
Django. It needs only Python's standard library, `cryptography` and ledger/crypto.py (pure:
copy the two files anywhere and run `python -m ledger.audit`).

    python -m ledger.audit FILE [--hmac-key-file F] [--checkpoint FILE ...]
                                [--checkpoint-key BASE64] [--json]

FILE is what `manage.py export_chain` wrote: one block per line as JSON, then a trailer line
(gzip when the name ends in .gz). docs/ledger-format.md describes the formats and the steps,
which this module follows without sharing any code with the server's verification
(ledger.verification) beyond the formulas in ledger.crypto: it is a second reading.

Without the HMAC keys (an outside auditor has none) it checks formats, hashes, links,
indexes, timestamps, the trailer and checkpoints, and says that signatures were not checked;
with them (--hmac-key-file: one `key_id:key` per line), the signatures too. Problem codes,
block indexes and exit statuses are verify_chain's: 0 valid, 1 problems found, 2 could not
run (an unreadable file or key).
"""

import argparse
import gzip
import hashlib
import hmac
import json
import re
import sys
import zlib
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from ledger import crypto

EXPORT_FORMAT = "hostel-ledger-export/1"
BLOCK_FIELDS = ("index", "timestamp", "data", "prev_hash", "hash", "signature", "key_id")
GENESIS_DATA = crypto.canonical_json({"type": "genesis"})
MAX_PROBLEMS_KEPT = 1000
MAX_LINE = 16 * 1024 * 1024  # characters: no real block comes near
RECENT = 1024  # blocks remembered for the head's check (blocks past the head are reported)
FUTURE_TOLERANCE = timedelta(minutes=5)  # clock skew, as verify_chain allows
SIGNATURE = re.compile(r"[0-9a-f]{64}")
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class AuditError(Exception):
    """The audit could not run (exit status 2); the message says why."""


@dataclass
class Audit:
    """What the audit found, in verify_chain's report shape (plus what was not checked)."""

    from_index: int = 0
    blocks: int = 0
    head_size: int = 0
    head_hash: str = ""
    signatures_checked: bool = False
    problem_count: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.problem_count == 0

    def add(self, index: int | None, code: str, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append({"index": index, "code": code, "message": message})

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "from_index": self.from_index,
            "blocks": self.blocks,
            "head": {"size": self.head_size, "hash": self.head_hash},
            "signatures_checked": self.signatures_checked,
            "problem_count": self.problem_count,
            "problems": self.problems,
            "notes": self.notes,
        }


def audit_export(
    lines: Iterable[str],
    *,
    keys: dict[str, bytes] | None = None,
    checkpoints: Sequence[tuple[str, dict[str, Any]]] = (),
    checkpoint_key: str = "",
) -> Audit:
    """Check an export's lines; ``keys`` (HMAC keys by id) to check signatures too, and
    ``checkpoints`` (name, parsed file) against the trusted ``checkpoint_key``."""
    audit = Audit(signatures_checked=keys is not None)
    hashes: dict[int, str] = {}  # the checkpoints' blocks only: kept to compare at the end
    wanted = {c.get("size", 0) - 1 for _, c in checkpoints if type(c.get("size")) is int}
    recent: deque[tuple[int, str, str]] = deque(maxlen=RECENT)  # for the head's block
    first: int | None = None
    expected: int | None = None
    last_index: int | None = None
    last_hash: str | None = None
    last_timestamp = ""
    trailer: dict[str, Any] | None = None
    for number, line in enumerate(lines, start=1):
        if trailer is not None:
            audit.add(None, "format", f"line {number} follows the trailer")
            break
        row = _strict_json(line)
        if isinstance(row, dict) and set(row) == {"trailer"}:
            trailer = row["trailer"] if isinstance(row["trailer"], dict) else {}
            continue
        if not isinstance(row, dict) or set(row) != set(BLOCK_FIELDS):
            audit.add(None, "format", f"line {number} is not a block ({', '.join(BLOCK_FIELDS)})")
            continue
        index = row["index"]
        texts = [row[name] for name in BLOCK_FIELDS[1:]]
        if type(index) is not int or index < 0 or not all(_is_text(t) for t in texts):
            audit.add(None, "format", f"line {number}: index must be a number, the rest text")
            continue
        timestamp, data, prev_hash, stored_hash, signature, key_id = texts
        if expected is None:
            expected = first = index
        audit.blocks += 1
        if index != expected:
            _sequence_problem(audit, index, expected, last_index)
        if not crypto.TIMESTAMP.fullmatch(timestamp):
            audit.add(index, "format", f"timestamp {timestamp!r} is not RFC 3339 UTC with µs")
        parsed = _strict_json(data)
        if not isinstance(parsed, dict) or not _is_text(parsed.get("type")):
            audit.add(index, "format", 'data is not a JSON object with a "type"')
        if index == 0 and (prev_hash != crypto.GENESIS_PREV_HASH or data != GENESIS_DATA):
            audit.add(index, "format", 'block 0 is not the genesis block {"type": "genesis"}')
        if not SIGNATURE.fullmatch(signature) or not KEY_ID.fullmatch(key_id):
            audit.add(index, "format", "signature or key id is not in its format")
        computed = hashlib.sha256((str(index) + timestamp + data + prev_hash).encode()).hexdigest()
        if computed != stored_hash:
            if crypto.HEX64.fullmatch(stored_hash):
                audit.add(index, "hash_mismatch", "stored hash does not match the contents")
            else:
                audit.add(index, "format", "hash is not 64 lowercase hex digits")
        if keys is not None:
            key = keys.get(key_id)
            if key is None:
                audit.add(index, "unknown_key", f"signed with unknown key id {key_id!r}")
            elif hmac.digest(key, stored_hash.encode(), "sha256").hex() != signature:
                audit.add(index, "bad_signature", f"signature does not verify with key {key_id!r}")
        if last_hash is not None and prev_hash != last_hash:
            if index > 0 and not crypto.HEX64.fullmatch(prev_hash):
                audit.add(index, "format", "prev_hash is not 64 lowercase hex digits")
            audit.add(index, "broken_link", f"prev_hash does not match block {last_index}'s hash")
        if timestamp < last_timestamp:
            audit.add(
                index, "timestamp_backwards", f"timestamp goes back before block {last_index}"
            )
        if index in wanted:
            hashes[index] = stored_hash
        recent.append((index, stored_hash, timestamp))
        last_index, last_hash, last_timestamp = index, stored_hash, timestamp
        expected = index + 1

    _check_trailer(audit, trailer, first, last_index, recent)
    for name, checkpoint in checkpoints:
        _check_checkpoint(audit, name, checkpoint, checkpoint_key, hashes, first, last_index)
    if keys is None:
        audit.notes.append(
            "signatures were not checked (no HMAC key given): anyone could have re-hashed "
            "the chain; only a checkpoint or the key holder's check rules that out"
        )
    if first:
        audit.notes.append(
            f"the export starts at block {first}: its link to the block before was not checked"
        )
    return audit


def _strict_json(text: str) -> Any:
    """``text`` parsed as strict JSON (no NaN or Infinity, no repeated key, valid Unicode,
    nesting within reason); None when it is not."""
    try:
        text.encode()  # a lone surrogate is not text any verifier can hash
        parsed = json.loads(text, parse_constant=_refuse, object_pairs_hook=_unique)
        if SURROGATE_ESCAPE.search(text):  # nor is one written as an escape
            json.dumps(parsed, ensure_ascii=False).encode()
        return parsed
    except (ValueError, RecursionError, UnicodeError):
        return None


def _refuse(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a key appears twice")
    return dict(pairs)


def _is_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode()
    except UnicodeError:
        return False
    return True


def _sequence_problem(audit: Audit, index: int, expected: int, last_index: int | None) -> None:
    if last_index is not None and index == last_index:
        audit.add(index, "duplicate", f"block {index} appears more than once")
    elif index > expected:
        missing = (
            f"block {expected} is"
            if index == expected + 1
            else f"blocks {expected}..{index - 1} are"
        )
        audit.add(index, "gap", f"{missing} missing before block {index}")
    else:
        audit.add(index, "order", f"block {index} comes after block {last_index}")


def _check_trailer(
    audit: Audit,
    trailer: dict[str, Any] | None,
    first: int | None,
    last_index: int | None,
    recent: deque[tuple[int, str, str]],
) -> None:
    """The trailer states the chain head when the export was made. The export holds every
    block from its start, head or not: blocks past the head, a head that is missing or that
    disagrees with its block, and timestamps after the export are reported as verify_chain
    reports them. An export cut short (no trailer) is caught; one cut and given a new
    trailer is caught only by a checkpoint (the trailer is not signed)."""
    if trailer is None:
        audit.add(None, "head_mismatch", "the export has no trailer: it was cut short")
        return
    size, starts, count = trailer.get("size"), trailer.get("from_index"), trailer.get("blocks")
    if (
        trailer.get("format") != EXPORT_FORMAT
        or type(starts) is not int
        or type(count) is not int
        or not (size is None or type(size) is int)
        or not _is_text(trailer.get("exported"))
    ):
        audit.add(None, "format", f"the trailer is not a {EXPORT_FORMAT} trailer")
        return
    audit.from_index = starts
    if count != audit.blocks:
        audit.add(
            None, "format", f"the trailer counts {count} blocks, the file holds {audit.blocks}"
        )
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
    at_head = next((block for block in recent if block[0] == size - 1), None)
    if size > anchor and at_head is None and (last_index is None or last_index < size - 1):
        last = "no block" if last_index is None else f"block {last_index}"
        audit.add(size - 1, "head_mismatch", f"the head says {size} blocks, but the last is {last}")
    elif at_head is not None:
        if at_head[1] != head_hash:
            audit.add(size - 1, "head_mismatch", "head hash differs from the last block's hash")
        if at_head[2] != head_time:
            audit.add(size - 1, "head_mismatch", "head timestamp differs from the last block's")
    latest = max((block[2] for block in recent), default="")
    exported = str(trailer["exported"])
    if crypto.TIMESTAMP.fullmatch(exported) and max(latest, str(head_time or "")) > _later(
        exported
    ):
        audit.add(
            max(size - 1, 0),
            "timestamp_future",
            f"the chain is dated after the export was made ({exported}): a clock ran ahead, "
            "or the head or a block was edited",
        )


def _later(timestamp: str) -> str:
    moment = datetime.fromisoformat(timestamp) + FUTURE_TOLERANCE
    return crypto.format_timestamp(moment)


def _check_checkpoint(
    audit: Audit,
    name: str,
    checkpoint: dict[str, Any],
    public_key: str,
    hashes: dict[int, str],
    first: int | None,
    last_index: int | None,
) -> None:
    if not crypto.checkpoint_signature_valid(checkpoint, public_key):
        audit.add(
            None,
            "checkpoint_signature",
            f"checkpoint {name} is malformed or not signed by the trusted checkpoint key",
        )
        return
    last = checkpoint["size"] - 1
    if first is not None and last < first:
        audit.add(
            last,
            "checkpoint_unchecked",
            f"checkpoint {name} names block {last}, before this export's first block "
            f"{first}: export from block {last} or earlier to check it",
        )
    elif last_index is None or last > last_index:
        audit.add(
            last,
            "checkpoint_truncated",
            f"checkpoint {name} ({checkpoint['created']}) saw {checkpoint['size']} blocks, "
            f"but block {last} is not in the export: the chain was cut short",
        )
    elif hashes.get(last) != checkpoint["head_hash"]:
        audit.add(
            last,
            "checkpoint_mismatch",
            f"block {last} differs from checkpoint {name} ({checkpoint['created']}): "
            "history was rewritten",
        )


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
    parser.add_argument("file", type=Path, help="what manage.py export_chain wrote")
    parser.add_argument("--hmac-key-file", type=Path, help="key_id:key lines: check signatures")
    parser.add_argument("--checkpoint", type=Path, action="append", default=[], metavar="FILE")
    parser.add_argument("--checkpoint-key", default="", metavar="BASE64")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    options = parser.parse_args(argv)
    try:
        keys = hmac_keys(options.hmac_key_file) if options.hmac_key_file else None
        checkpoints = [(p.name, _checkpoint(p)) for p in options.checkpoint]
        if checkpoints:
            try:
                crypto.public_key_check(options.checkpoint_key)
            except ValueError as exc:
                raise AuditError(f"--checkpoint-key: {exc}") from None
        audit = audit_export(
            export_lines(options.file),
            keys=keys,
            checkpoints=checkpoints,
            checkpoint_key=options.checkpoint_key,
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
