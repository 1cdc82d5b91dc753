"""RFC 9162 Merkle tree over the ledger's blocks: hashes, proofs, verification. Pure.

Standard library only: ledger/audit.py, the auditor's verifier, imports this without Django.
Definitions are RFC 9162 (Certificate Transparency 2.0) section 2.1:

    leaf      = SHA-256(0x00 || data)
    node      = SHA-256(0x01 || left || right)
    MTH({})   = SHA-256("")
    MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two smaller than n

Vocabulary used below. A *leaf* is an already-hashed leaf (leaf_hash's output, 32 bytes).
The *perfect aligned subtree* (level k, position p) covers leaves [p*2**k, (p+1)*2**k); every
such subtree inside [0, n) is a node of MTH(D[n]) and never changes as the log grows, which is
why storage keeps these and nothing else. Proof generation asks the caller for them through a
`perfect(level, position)` callable, so it needs no idea of where they are stored.
"""

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

# perfect(level, position) -> hash of leaves [position * 2**level, (position + 1) * 2**level)
Perfect = Callable[[int, int], bytes]

# Not ledger.crypto.HEX64: that module imports `cryptography`, and this one must stay stdlib.
_BLOCK_HASH = re.compile(r"[0-9a-f]{64}")


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def block_leaf(block_hash_hex: str) -> bytes:
    """The leaf for a block: its hash's 32 bytes, not its hex text, so a leaf is 33 bytes in."""
    if not isinstance(block_hash_hex, str) or not _BLOCK_HASH.fullmatch(block_hash_hex):
        raise ValueError("a block hash is 64 lowercase hex characters")
    return leaf_hash(bytes.fromhex(block_hash_hex))


def _fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of consecutive perfect subtrees given largest first (a binary decomposition).

    The RFC's split at the largest power of two below n puts the largest piece on the left and
    recurses on the rest, so the tree is the pieces joined from the right.
    """
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


class Frontier:
    """Compact range [0, size): the roots of the perfect subtrees of the binary decomposition of
    size, largest first. Appending is O(log n) amortised; memory O(log n)."""

    __slots__ = ("_hashes", "size")

    def __init__(self) -> None:
        self.size = 0
        self._hashes: list[bytes] = []

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add the next leaf; return (level, position, hash) of each perfect aligned subtree of
        level >= 1 that this leaf completes, smallest first (empty when size was even)."""
        if not isinstance(leaf, bytes) or len(leaf) != HASH_SIZE:
            raise ValueError("a leaf is a 32-byte leaf hash")
        completed: list[tuple[int, int, bytes]] = []
        node, level, position = leaf, 0, self.size
        # Each trailing 1 bit of the old size is a perfect subtree waiting for a right sibling
        # of its own size; the new leaf (then each merged node) is that sibling.
        while position & 1:
            node = node_hash(self._hashes.pop(), node)
            level += 1
            position >>= 1
            completed.append((level, position, node))
        self._hashes.append(node)
        self.size += 1
        return completed

    def root(self) -> bytes:
        """RFC 9162 MTH of the leaves so far (EMPTY_ROOT at size 0)."""
        return _fold(self._hashes)

    def hashes(self) -> list[bytes]:
        """The perfect-subtree roots, largest (leftmost) first; a copy."""
        return list(self._hashes)

    @classmethod
    def from_hashes(cls, size: int, hashes: list[bytes]) -> "Frontier":
        """Resume from a stored (size, hashes()); ValueError if they cannot belong together."""
        if not _is_int(size) or size < 0:
            raise ValueError("size must be a non-negative int")
        if len(hashes) != size.bit_count():
            raise ValueError(f"size {size} needs {size.bit_count()} hashes, got {len(hashes)}")
        if not all(_is_hash(h) for h in hashes):
            raise ValueError("every hash must be 32 bytes")
        frontier = cls()
        frontier.size = size
        frontier._hashes = list(hashes)
        return frontier

    @classmethod
    def from_hex(cls, size: int, hashes: Sequence[str]) -> "Frontier":
        """from_hashes() of hashes stored as hex text (an archive's record or trailer);
        ValueError or TypeError when they are not that."""
        return cls.from_hashes(size, [bytes.fromhex(node) for node in hashes])


def root(leaves: Iterable[bytes]) -> bytes:
    """MTH of leaf hashes, streamed through a Frontier: memory O(log n) whatever the count."""
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


def perfect_from_leaves(leaves: Sequence[bytes]) -> Perfect:
    """perfect() over an in-memory snapshot of leaf hashes, memoised: for tests and small trees
    (every node it computes stays in memory)."""
    snapshot = tuple(leaves)
    memo: dict[tuple[int, int], bytes] = {}

    def perfect(level: int, position: int) -> bytes:
        if level < 0 or position < 0 or (position + 1) << level > len(snapshot):
            raise ValueError(f"no perfect subtree ({level}, {position}) in {len(snapshot)} leaves")
        if level == 0:
            return snapshot[position]
        found = memo.get((level, position))
        if found is None:
            left = perfect(level - 1, 2 * position)
            found = memo[(level, position)] = node_hash(left, perfect(level - 1, 2 * position + 1))
        return found

    return perfect


# --- Proof generation ----------------------------------------------------------------------


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2): where RFC 9162 splits D[n]."""
    return 1 << ((n - 1).bit_length() - 1)


def _ask(perfect: Perfect, level: int, position: int) -> bytes:
    # A storage back end that returns the wrong thing must fail here, not yield a proof that
    # no verifier will ever accept.
    value = perfect(level, position)
    if not _is_hash(value):
        raise ValueError(f"perfect({level}, {position}) did not return 32 bytes")
    return value


def range_hash(start: int, end: int, perfect: Perfect) -> bytes:
    """MTH(D[start:end]) composed from perfect() calls only, popcount(end - start) of them.

    Precondition: 0 <= start < end and start is a multiple of the smallest power of two
    >= end - start. Those are exactly the ranges that are nodes of some RFC 9162 tree (each is
    a node of MTH(D[end])); any other range, e.g. [2, 5), is a node of no tree, so it raises
    ValueError rather than return a hash nobody could check. (0, 0) gives EMPTY_ROOT.
    """
    if not (_is_int(start) and _is_int(end)):
        raise ValueError("start and end must be ints")
    if start == end == 0:
        return EMPTY_ROOT
    length = end - start
    if start < 0 or length <= 0 or start % (1 << (length - 1).bit_length()):
        raise ValueError(f"[{start}, {end}) is not a node of any RFC 9162 tree")
    # Every piece is aligned: start is a multiple of a power of two above all of them.
    pieces: list[bytes] = []
    position = start
    for level in reversed(range(length.bit_length())):
        if length >> level & 1:
            pieces.append(_ask(perfect, level, position >> level))
            position += 1 << level
    return _fold(pieces)


def _left_child(perfect: Perfect, lo: int, k: int) -> bytes:
    """MTH(D[lo:lo+k]), the left child at a split: always perfect and aligned."""
    level = k.bit_length() - 1
    return _ask(perfect, level, lo >> level)


def inclusion_proof(index: int, size: int, perfect: Perfect) -> list[bytes]:
    """RFC 9162 2.1.3.1 PATH(index, D[size]), the leaf's sibling first.

    Walks from the root down: at each split the sibling is either the perfect left child or
    the right part, which is perfect too once the walk has left the tree's right edge; so at
    most one sibling (the first right-edge one) costs more than one perfect() call.
    """
    if not (_is_int(index) and _is_int(size) and 0 <= index < size):
        raise ValueError(f"need 0 <= index < size, got index {index}, size {size}")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append(range_hash(lo + k, hi, perfect))
            hi = lo + k
        else:
            path.append(_left_child(perfect, lo, k))
            lo += k
    path.reverse()
    return path


def consistency_proof(old_size: int, new_size: int, perfect: Perfect) -> list[bytes]:
    """RFC 9162 2.1.4.1 PROOF(old_size, D[new_size]); empty when the sizes are equal.

    SUBPROOF(m, D[lo:hi], b) with m kept absolute: "m == n" is old_size == hi, "m <= k" is
    old_size <= lo + k, and b turns false once the walk goes right of the old tree's root.
    """
    if not (_is_int(old_size) and _is_int(new_size) and 0 < old_size <= new_size):
        raise ValueError(f"need 0 < old_size <= new_size, got {old_size}, {new_size}")
    proof: list[bytes] = []
    lo, hi, old_root_known = 0, new_size, True
    while old_size != hi:
        k = _split(hi - lo)
        if old_size <= lo + k:
            proof.append(range_hash(lo + k, hi, perfect))
            hi = lo + k
        else:
            proof.append(_left_child(perfect, lo, k))
            lo += k
            old_root_known = False
    if not old_root_known:
        proof.append(range_hash(lo, hi, perfect))
    proof.reverse()
    return proof


# --- Verification: RFC 9162 2.1.3.2 and 2.1.4.2, False for anything malformed --------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_proof(proof: object) -> bool:
    return isinstance(proof, Sequence) and all(_is_hash(item) for item in proof)


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: does `proof` put `leaf` at `index` in the tree of `size` with `root`?

    The (size, root) pair must come from one signed tree head: a proof for index 0 in a tree
    of 3 also passes as size 4 with the size-3 root, since the algorithm reads only the shape.
    """
    if not (_is_int(index) and _is_int(size) and 0 <= index < size):
        return False
    if not (_is_hash(leaf) and _is_hash(root) and _is_proof(proof)):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not (fn & 1) and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: is the tree (new_size, new_root) an append-only extension of
    (old_size, old_root)?

    Equal sizes need an empty proof and equal roots (the RFC defines no proof there). An
    old_size of 0 is always False: RFC 9162 defines PROOF(m, D[n]) only for m > 0, and an
    empty tree commits to nothing, so nothing would have been checked (transparency-dev/merkle
    refuses it too). A caller that wants "anything extends the empty tree" must say so itself.
    """
    if not (_is_int(old_size) and _is_int(new_size) and 0 < old_size <= new_size):
        return False
    if not (_is_hash(old_root) and _is_hash(new_root) and _is_proof(proof)):
        return False
    if old_size == new_size:
        return len(proof) == 0 and old_root == new_root
    if len(proof) == 0:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not (fn & 1) and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root
