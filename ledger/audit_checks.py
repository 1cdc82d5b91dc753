"""The auditor's checks of blocks read from files (ledger.audit), without Django.

A Walk takes blocks in chain order from any number of sources (archive segments, then an
export) and checks each against the one before, as docs/ledger-format.md's steps say: formats,
index sequence, hash, signature (with the keys), link, time. It remembers only the last block,
the newest few (for the head's check), the hashes and Merkle tree roots that the checkpoints
name, and the tree's compact range (ledger.merkle), so memory stays constant.
"""

import hashlib
import hmac
import json
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger import crypto, merkle

BLOCK_FIELDS = ("index", "timestamp", "data", "prev_hash", "hash", "signature", "key_id")
RECEIPT_FORMAT = "hostel-ledger-receipt/1"
GENESIS_DATA = crypto.canonical_json({"type": "genesis"})
MAX_PROBLEMS_KEPT = 1000
RECENT = 1024  # blocks remembered for the head's check (blocks past the head are reported)
SIGNATURE = re.compile(r"[0-9a-f]{64}")
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


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


class Walk:
    """The chain as read so far, from whichever files it came."""

    def __init__(
        self,
        audit: Audit,
        *,
        keys: Mapping[str, bytes] | None,
        hashes_wanted: Iterable[int] = (),
        roots_wanted: Iterable[int] = (),
    ) -> None:
        self.audit = audit
        self.keys = keys
        self.hashes_wanted = set(hashes_wanted)
        self.hashes: dict[int, str] = {}  # the checkpoints' blocks, compared at the end
        self.roots_wanted = set(roots_wanted)
        self.roots: dict[int, str] = {}  # tree roots at the checkpoints' sizes
        self.recent: deque[tuple[int, str, str]] = deque(maxlen=RECENT)
        self.tree: merkle.Frontier | None = None  # None: the leaves before are unknown
        self.first: int | None = None  # the first block read, from any file
        # The first block of the file being read, and its prev_hash: its link to what came
        # before is the caller's to judge.
        self.file_first: int | None = None
        self.file_first_prev = ""
        self.expected: int | None = None
        self.last_index: int | None = None
        self.last_hash: str | None = None
        self.last_timestamp = ""

    def seed(self, index: int, block_hash: str, timestamp: str, frontier: Any) -> None:
        """Continue after block ``index`` as an anchor states it (not itself checked)."""
        self.expected, self.last_index = index + 1, index
        self.last_hash, self.last_timestamp = block_hash, timestamp
        if index in self.hashes_wanted:
            self.hashes[index] = block_hash
        try:
            self.tree = merkle.Frontier.from_hex(index + 1, frontier)
        except (TypeError, ValueError):
            self.tree = None

    def lines(self, lines: Iterable[str], source: str) -> tuple[dict[str, Any] | None, int]:
        """Check the blocks of one file; its trailer (None if it has none) and block count."""
        trailer: dict[str, Any] | None = None
        count = 0
        self.file_first, self.file_first_prev = None, ""
        for number, line in enumerate(lines, start=1):
            if trailer is not None:
                self.audit.add(None, "format", f"{source} line {number} follows the trailer")
                break
            row = strict_json(line)
            if isinstance(row, dict) and set(row) == {"trailer"}:
                trailer = row["trailer"] if isinstance(row["trailer"], dict) else {}
                continue
            if not isinstance(row, dict) or set(row) != set(BLOCK_FIELDS):
                self.audit.add(
                    None,
                    "format",
                    f"{source} line {number} is not a block ({', '.join(BLOCK_FIELDS)})",
                )
                continue
            index = row["index"]
            texts = [row[name] for name in BLOCK_FIELDS[1:]]
            if type(index) is not int or index < 0 or not all(is_text(t) for t in texts):
                self.audit.add(
                    None, "format", f"{source} line {number}: index must be a number, the rest text"
                )
                continue
            self.block(index, *texts)
            count += 1
        return trailer, count

    def block(
        self,
        index: int,
        timestamp: str,
        data: str,
        prev_hash: str,
        stored_hash: str,
        signature: str,
        key_id: str,
    ) -> None:
        add = self.audit.add
        if self.expected is None:
            self.expected = index
            if index == 0:
                self.tree = merkle.Frontier()
        if self.first is None:
            self.first = index
        if self.file_first is None:
            self.file_first, self.file_first_prev = index, prev_hash
        self.audit.blocks += 1
        if index != self.expected:
            self._sequence_problem(index, self.expected)
        if not crypto.TIMESTAMP.fullmatch(timestamp):
            add(index, "format", f"timestamp {timestamp!r} is not RFC 3339 UTC with µs")
        parsed = strict_json(data)
        if not isinstance(parsed, dict) or not is_text(parsed.get("type")):
            add(index, "format", 'data is not a JSON object with a "type"')
        if index == 0 and (prev_hash != crypto.GENESIS_PREV_HASH or data != GENESIS_DATA):
            add(index, "format", 'block 0 is not the genesis block {"type": "genesis"}')
        if not SIGNATURE.fullmatch(signature) or not KEY_ID.fullmatch(key_id):
            add(index, "format", "signature or key id is not in its format")
        computed = hashlib.sha256((str(index) + timestamp + data + prev_hash).encode()).hexdigest()
        if computed != stored_hash:
            if crypto.HEX64.fullmatch(stored_hash):
                add(index, "hash_mismatch", "stored hash does not match the contents")
            else:
                add(index, "format", "hash is not 64 lowercase hex digits")
        if self.keys is not None:
            key = self.keys.get(key_id)
            if key is None:
                add(index, "unknown_key", f"signed with unknown key id {key_id!r}")
            elif hmac.digest(key, stored_hash.encode(), "sha256").hex() != signature:
                add(index, "bad_signature", f"signature does not verify with key {key_id!r}")
        if self.last_hash is not None and prev_hash != self.last_hash:
            if index > 0 and not crypto.HEX64.fullmatch(prev_hash):
                add(index, "format", "prev_hash is not 64 lowercase hex digits")
            add(index, "broken_link", f"prev_hash does not match block {self.last_index}'s hash")
        if timestamp < self.last_timestamp:
            add(index, "timestamp_backwards", f"timestamp goes back before block {self.last_index}")
        self._grow_tree(index, stored_hash)
        if index in self.hashes_wanted:
            self.hashes[index] = stored_hash
        self.recent.append((index, stored_hash, timestamp))
        self.last_index, self.last_hash, self.last_timestamp = index, stored_hash, timestamp
        self.expected = index + 1

    def _grow_tree(self, index: int, stored_hash: str) -> None:
        tree = self.tree
        if tree is None:
            return
        if tree.size != index or not crypto.HEX64.fullmatch(stored_hash):
            self.tree = None  # out of sequence: the roots after here cannot be told
            return
        tree.append(merkle.block_leaf(stored_hash))
        if tree.size in self.roots_wanted:
            self.roots[tree.size] = tree.root().hex()

    def _sequence_problem(self, index: int, expected: int) -> None:
        last = self.last_index
        if last is not None and index == last:
            self.audit.add(index, "duplicate", f"block {index} appears more than once")
        elif index > expected:
            missing = (
                f"block {expected} is"
                if index == expected + 1
                else f"blocks {expected}..{index - 1} are"
            )
            self.audit.add(index, "gap", f"{missing} missing before block {index}")
        else:
            self.audit.add(index, "order", f"block {index} comes after block {last}")


def checkpoint_check(walk: Walk, name: str, checkpoint: Mapping[str, Any], public_key: str) -> None:
    """Hold ``checkpoint`` (signed by the trusted ``public_key``) to the blocks walked."""
    audit = walk.audit
    if not crypto.checkpoint_signature_valid(checkpoint, public_key):
        audit.add(
            None,
            "checkpoint_signature",
            f"checkpoint {name} is malformed or not signed by the trusted checkpoint key",
        )
        return
    size = checkpoint["size"]
    last = size - 1
    if walk.first is not None and last < walk.first and last not in walk.hashes:
        audit.add(
            last,
            "checkpoint_unchecked",
            f"checkpoint {name} names block {last}, before the first block read "
            f"({walk.first}): export from block {last} or earlier, or give --archive, to check it",
        )
    elif walk.last_index is None or last > walk.last_index:
        audit.add(
            last,
            "checkpoint_truncated",
            f"checkpoint {name} ({checkpoint['created']}) saw {size} blocks, "
            f"but block {last} is not in the export: the chain was cut short (or the export "
            "was made before the checkpoint)",
        )
    elif walk.hashes.get(last) != checkpoint["head_hash"]:
        audit.add(
            last,
            "checkpoint_mismatch",
            f"block {last} differs from checkpoint {name} ({checkpoint['created']}): "
            "history was rewritten",
        )
    elif "tree_root" in checkpoint:
        root = walk.roots.get(size)
        if root is None:
            audit.notes.append(
                f"the Merkle tree root of checkpoint {name} was not checked: it needs every "
                "block before it (an export from block 0, or every archive segment)"
            )
        elif root != checkpoint["tree_root"]:
            audit.add(
                last,
                "checkpoint_mismatch",
                f"the Merkle tree over blocks 0..{last} differs from checkpoint {name}'s root",
            )


def receipt_check(receipt: Any, public_key: str) -> Audit:
    """Is the receipt's block, as it reads, in the tree its checkpoint signed (with the
    trusted ``public_key``)? Checks the block's hash, the checkpoint, the inclusion proof."""
    audit = Audit()
    block = receipt.get("block") if isinstance(receipt, dict) else None
    if (
        not isinstance(receipt, dict)
        or receipt.get("format") != RECEIPT_FORMAT
        or not isinstance(block, dict)
        or set(block) != set(BLOCK_FIELDS)
        or type(block["index"]) is not int
        or not all(is_text(block[name]) for name in BLOCK_FIELDS[1:])
        or not isinstance(receipt.get("inclusion_proof"), list)
        or not isinstance(receipt.get("checkpoint"), dict)
    ):
        audit.add(None, "format", f"this is not a {RECEIPT_FORMAT} receipt")
        return audit
    index, checkpoint = block["index"], receipt["checkpoint"]
    audit.blocks = 1
    if not crypto.checkpoint_signature_valid(checkpoint, public_key) or not is_text(
        checkpoint.get("tree_root")
    ):
        audit.add(
            index,
            "checkpoint_signature",
            "the receipt's checkpoint is malformed, has no tree root, or is not signed by the "
            "trusted checkpoint key",
        )
        return audit
    computed = crypto.block_hash(index, block["timestamp"], block["data"], block["prev_hash"])
    if computed != block["hash"]:
        audit.add(index, "hash_mismatch", "the block's hash does not match its contents")
        return audit
    try:
        proof = [bytes.fromhex(node) for node in receipt["inclusion_proof"]]
    except (TypeError, ValueError):
        proof = []
    size = checkpoint["size"]
    if receipt.get("tree_size") != size or not merkle.verify_inclusion(
        index, size, merkle.block_leaf(block["hash"]), proof, bytes.fromhex(checkpoint["tree_root"])
    ):
        audit.add(
            index,
            "receipt_proof",
            f"the inclusion proof does not put block {index} in the tree of {size} blocks "
            "that the checkpoint signed",
        )
    audit.head_size, audit.head_hash = size, checkpoint["head_hash"]
    return audit


def strict_json(text: str) -> Any:
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


def is_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        value.encode()
    except UnicodeError:
        return False
    return True
