"""The RFC 9162 Merkle tree over the stored chain (ledger.merkle does the hashing).

Leaf i is merkle.block_leaf(block i's hash). A checkpoint signs the root over blocks
0..size-1; proofs show one block in it (inclusion) or one checkpoint's tree inside a later
one's (consistency). Proofs need hashes of perfect aligned subtrees: those of STORED_LEVEL
and up are kept in TreeNode (written by tree_store() when a checkpoint is made, a few
thousand rows at a million blocks), smaller ones are hashed from at most 2**STORED_LEVEL
block hashes, so a proof at any size costs a few indexed reads.

Archived blocks are gone from the database, but the anchor keeps the tree's compact range
over them (ArchiveSegment.tree_frontier): roots, and proofs for any block still stored, need
nothing else. Proofs that need archived leaves raise TreeError.
"""

from collections.abc import Iterable, Iterator

from django.db import DatabaseError, transaction
from django.db.models import Q

from ledger import merkle
from ledger.models import ArchiveSegment, Block, TreeNode
from ledger.selectors import archive_anchor
from ledger.verification import STREAM_CHUNK

STORED_LEVEL = 8  # subtrees of 256 leaves and up are stored


class TreeError(Exception):
    """A proof or root cannot be made from what the database holds; the message says why."""


def tree_root(size: int) -> bytes:
    """The root over blocks 0..size-1, from the stored blocks (and the anchor's range)."""
    return _frontier(size).root()


def _frontier(size: int, found: list[tuple[int, int, bytes]] | None = None) -> merkle.Frontier:
    """The tree over blocks 0..size-1; the perfect subtrees of STORED_LEVEL and up that the
    stored blocks complete are added to ``found``."""
    anchor = archive_anchor()
    tree = _anchor_frontier(anchor) if anchor is not None else merkle.Frontier()
    if size < tree.size:
        raise TreeError(f"blocks before {tree.size} are archived; the tree at {size} needs them")
    for block_hash in _hashes(tree.size, size):
        for completed in tree.append(merkle.block_leaf(block_hash)):
            if found is not None and completed[0] >= STORED_LEVEL:
                found.append(completed)
    if tree.size != size:
        raise TreeError(f"the chain holds {tree.size} blocks, not {size}")
    return tree


def _anchor_frontier(anchor: ArchiveSegment) -> merkle.Frontier:
    return merkle.Frontier.from_hex(anchor.last_index + 1, anchor.tree_frontier)


def _hashes(start: int, end: int) -> Iterator[str]:
    rows = (
        Block.objects.filter(index__gte=start, index__lt=end)
        .order_by("index")
        .values_list("hash", flat=True)
    )
    return rows.iterator(chunk_size=STREAM_CHUNK)


def tree_store(size: int) -> tuple[bytes, bool]:
    """The root over blocks 0..size-1, and whether every perfect subtree of STORED_LEVEL and
    up inside it is now stored (False: the database refused the write, as a read-only role's
    does; `ledger_checkpoint record` stores them later).

    Reads every stored block hash (once per checkpoint; a second at a million blocks).
    TreeError when a node already stored differs from the chain's: it was changed."""
    found: list[tuple[int, int, bytes]] = []
    tree = _frontier(size, found)
    anchor = archive_anchor()
    if anchor is not None:  # the anchor's range holds big subtrees completed before its end
        found += [n for n in _decomposition(_anchor_frontier(anchor)) if n[0] >= STORED_LEVEL]
    stored = {
        (level, position): node
        for level, position, node in TreeNode.objects.values_list("level", "position", "hash")
    }
    for level, position, node in found:
        if stored.get((level, position), node.hex()) != node.hex():
            raise TreeError(
                f"the stored tree node ({level}, {position}) differs from the chain's: it was "
                "changed in the database (delete the tree's nodes as the tables' owner, then "
                "make the checkpoint again)"
            )
    new = [
        TreeNode(level=level, position=position, hash=node.hex())
        for level, position, node in found
        if (level, position) not in stored
    ]
    try:
        with transaction.atomic():
            TreeNode.objects.bulk_create(new, batch_size=2000)
    except DatabaseError:
        return tree.root(), False
    return tree.root(), True


def _decomposition(tree: merkle.Frontier) -> Iterator[tuple[int, int, bytes]]:
    """(level, position, hash) of each perfect subtree of a compact range, largest first."""
    offset = 0
    nodes = iter(tree.hashes())
    for level in reversed(range(tree.size.bit_length())):
        if tree.size >> level & 1:
            yield level, offset >> level, next(nodes)
            offset += 1 << level


class _Perfect:
    """perfect(level, position) for ledger.merkle's proofs, from the database."""

    def __init__(self) -> None:
        anchor = archive_anchor()
        self.archived = anchor.last_index + 1 if anchor is not None else 0
        self.chunks: dict[int, tuple[int, list[bytes]]] = {}
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.anchored = {
            (level, position): node
            for level, position, node in (
                _decomposition(_anchor_frontier(anchor)) if anchor is not None else ()
            )
        }

    def prefetch(self, *, leaves: Iterable[int], sizes: Iterable[int]) -> None:
        """Read in one query the stored nodes a proof about these leaves in trees of these
        sizes can ask for: the siblings along each leaf's path, and the subtrees each size
        decomposes into (the right edges). The others are read one at a time if asked."""
        sizes = list(sizes)
        top = max(sizes, default=0).bit_length()
        wanted: set[tuple[int, int]] = set()
        for leaf in leaves:
            wanted |= {(k, (leaf >> k) ^ 1) for k in range(STORED_LEVEL, top)}
        for size in sizes:
            offset = 0
            for level in reversed(range(size.bit_length())):
                if size >> level & 1:
                    if level >= STORED_LEVEL:
                        wanted.add((level, offset >> level))
                    offset += 1 << level
        if wanted:
            found = Q()
            for level, position in wanted:
                found |= Q(level=level, position=position)
            for level, position, node in TreeNode.objects.filter(found).values_list(
                "level", "position", "hash"
            ):
                self.nodes[(level, position)] = bytes.fromhex(node)

    def __call__(self, level: int, position: int) -> bytes:
        if (level, position) in self.anchored:
            return self.anchored[(level, position)]
        if (level, position) in self.nodes:
            return self.nodes[(level, position)]
        if level >= STORED_LEVEL:
            stored = (
                TreeNode.objects.filter(level=level, position=position)
                .values_list("hash", flat=True)
                .first()
            )
            if stored is None:
                raise TreeError(f"tree node ({level}, {position}) is not stored yet")
            return bytes.fromhex(stored)
        start = position << level
        if start < self.archived < start + (1 << level) and level > 0:
            # Across the archive's end: its halves are the anchor's, stored, or across again.
            left, right = self(level - 1, 2 * position), self(level - 1, 2 * position + 1)
            return merkle.node_hash(left, right)
        if start < self.archived:
            raise TreeError(f"the proof needs block {start}, which is archived")
        # Smaller subtrees: from the block hashes of the stored subtree they lie in (at most
        # 2**STORED_LEVEL, fewer where the archive ends inside it), read once per proof.
        chunk = start >> STORED_LEVEL
        if chunk not in self.chunks:
            first = max(chunk << STORED_LEVEL, self.archived)
            hashes = _hashes(first, (chunk + 1) << STORED_LEVEL)
            self.chunks[chunk] = (first, [merkle.block_leaf(h) for h in hashes])
        first, leaves = self.chunks[chunk]
        piece = leaves[start - first : start - first + (1 << level)]
        if len(piece) != 1 << level:
            raise TreeError(f"blocks {start}.. are not all stored")
        return merkle.range_hash(0, len(piece), merkle.perfect_from_leaves(piece))


def inclusion(index: int, size: int) -> list[bytes]:
    """RFC 9162 inclusion proof of block ``index`` in the tree of ``size`` blocks."""
    perfect = _Perfect()
    perfect.prefetch(leaves=[index], sizes=[size])
    return merkle.inclusion_proof(index, size, perfect)


def consistency(old_size: int, new_size: int) -> list[bytes]:
    """RFC 9162 consistency proof from the tree of ``old_size`` blocks to ``new_size``."""
    perfect = _Perfect()
    perfect.prefetch(leaves=[max(old_size - 1, 0)], sizes=[old_size, new_size])
    return merkle.consistency_proof(old_size, new_size, perfect)
