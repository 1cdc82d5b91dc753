"""The chain: append-only blocks and the single head row that appends lock."""

import json
from typing import Any

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import Exact, GreaterThan


def _length_is(field: str, length: int) -> Exact:
    return Exact(Length(field), length)


class LedgerImmutableError(Exception):
    """Raised on any attempt to change, delete or hand-write a block."""


class BlockQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise LedgerImmutableError("ledger blocks are never updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise LedgerImmutableError("ledger blocks are never deleted")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise LedgerImmutableError("ledger blocks are never updated")

    def bulk_create(self, *args: Any, **kwargs: Any) -> list["Block"]:
        raise LedgerImmutableError("blocks are written only by ledger.services.block_append")


class Block(models.Model):
    """One event in the hash chain. Stored exactly as hashed, never changed."""

    index = models.PositiveBigIntegerField()
    timestamp = models.CharField(max_length=32)  # RFC 3339 UTC text, exactly as hashed
    data = models.TextField()  # json.dumps(data, sort_keys=True), exactly as hashed
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    signature = models.CharField(max_length=64)
    key_id = models.CharField(max_length=32)
    # Copied from data when the block is written, for indexed filtering; not hashed, but
    # chain_verify() reports any block whose copies disagree with its data.
    type = models.CharField(max_length=32)
    # What the event concerns: the data key its type registered (ledger.registry).
    subject = models.CharField(max_length=64, blank=True, default="")
    # On PostgreSQL, a GIN index on data::jsonb (migration 0006) serves the field filters
    # (ledger.selectors.with_field): indexed on the hashed text itself, so no copy to check.

    objects = BlockQuerySet.as_manager()

    class Meta:
        ordering = ["index"]
        permissions = [
            ("verify_chain", "Can run a chain verification from the site"),
            ("export_blocks", "Can export ledger events as CSV"),
        ]
        indexes = [
            models.Index(fields=["type", "index"], name="ledger_block_type_idx"),
            models.Index(fields=["subject", "index"], name="ledger_block_subject_idx"),
            # Date filters and "today's scans"; timestamps never go back along the chain.
            models.Index(fields=["timestamp"], name="ledger_block_timestamp_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["index"], name="ledger_block_unique_index"),
            models.UniqueConstraint(fields=["prev_hash"], name="ledger_block_unique_prev"),
            models.CheckConstraint(
                condition=Q(index=0, prev_hash="0")
                | (Q(GreaterThan(F("index"), 0)) & Q(_length_is("prev_hash", 64))),
                name="ledger_block_prev_hash_format",
            ),
            models.CheckConstraint(
                condition=_length_is("hash", 64), name="ledger_block_hash_format"
            ),
            models.CheckConstraint(
                condition=_length_is("signature", 64), name="ledger_block_signature_format"
            ),
            models.CheckConstraint(
                condition=_length_is("timestamp", 32), name="ledger_block_timestamp_format"
            ),
            models.CheckConstraint(condition=~Q(key_id=""), name="ledger_block_key_id_present"),
        ]

    def __str__(self) -> str:
        return f"#{self.index} {self.type}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise LedgerImmutableError("ledger blocks are never changed")
        raise LedgerImmutableError("blocks are written only by ledger.services.block_append")

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise LedgerImmutableError("ledger blocks are never deleted")

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.data)


class ChainHead(models.Model):
    """The single row every append locks: how long the chain is and its last hash."""

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON)
    size = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, blank=True, default="")
    timestamp = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="ledger_chainhead_singleton"),
            models.CheckConstraint(
                condition=Q(size=0, hash="", timestamp="")
                | (
                    Q(GreaterThan(F("size"), 0))
                    & Q(_length_is("hash", 64))
                    & Q(_length_is("timestamp", 32))
                ),
                name="ledger_chainhead_format",
            ),
        ]

    def __str__(self) -> str:
        return f"chain of {self.size} blocks"


class VerificationRun(models.Model):
    """The outcome of one chain_verify() run, for the dashboard's chain status."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    valid = models.BooleanField()
    blocks = models.PositiveBigIntegerField()
    problem_count = models.PositiveBigIntegerField()
    problems = models.JSONField(default=list)  # the first few, for display
    trigger = models.CharField(max_length=20)  # "command", "dashboard", "api"
    by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-finished_at"]
        get_latest_by = "finished_at"

    def __str__(self) -> str:
        return f"{'valid' if self.valid else 'INVALID'} at {self.finished_at:%Y-%m-%d %H:%M}"


class ArchiveQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise LedgerImmutableError("archive segments are never changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise LedgerImmutableError("archive segments are never deleted")


class ArchiveSegment(models.Model):
    """Blocks moved out of the database into a verified, compressed file (ledger.archive).

    Written only by ledger.archive.chain_archive, in the transaction that deletes the
    blocks, and never changed (on PostgreSQL a trigger refuses it, as for blocks). The
    latest segment is the anchor the live chain continues from: its last block's index,
    hash and time, and the Merkle tree's compact range over every block up to it.
    """

    number = models.PositiveIntegerField()  # 1, 2, ... in chain order
    first_index = models.PositiveBigIntegerField()
    last_index = models.PositiveBigIntegerField()
    last_hash = models.CharField(max_length=64)
    last_timestamp = models.CharField(max_length=32)
    file_name = models.CharField(max_length=100)  # segment-000001.jsonl.gz
    file_sha256 = models.CharField(max_length=64)
    location = models.CharField(max_length=500)  # the directory it was written to
    # RFC 9162 compact range of blocks 0..last_index (ledger.merkle.Frontier.hashes), hex.
    tree_frontier = models.JSONField(default=list)
    archived_at = models.DateTimeField()
    archived_by = models.CharField(max_length=150, blank=True)

    objects = ArchiveQuerySet.as_manager()

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="ledger_archive_unique_number"),
            models.UniqueConstraint(fields=["first_index"], name="ledger_archive_unique_first"),
            models.CheckConstraint(
                condition=Q(last_index__gte=F("first_index")), name="ledger_archive_range"
            ),
        ]

    def __str__(self) -> str:
        return f"segment {self.number}: blocks {self.first_index}..{self.last_index}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        raise LedgerImmutableError("archive segments are recorded only by ledger.archive")

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise LedgerImmutableError("archive segments are never deleted")


class TreeNode(models.Model):
    """The hash of a perfect aligned subtree of the RFC 9162 Merkle tree over block hashes
    (ledger.tree): level >= ledger.tree.STORED_LEVEL, leaves [position * 2**level, ...).

    A cache that makes a proof cost a few reads at any size, written when a checkpoint is
    made. Never trusted on its own: every proof is checked against the signed root before
    it is served, and verify_chain recomputes the roots of the checkpoints it is given.
    """

    level = models.PositiveSmallIntegerField()
    position = models.PositiveBigIntegerField()
    hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["level", "position"], name="ledger_treenode_unique"),
            models.CheckConstraint(condition=_length_is("hash", 64), name="ledger_treenode_hash"),
        ]

    def __str__(self) -> str:
        return f"tree node ({self.level}, {self.position})"


class Checkpoint(models.Model):
    """A signed checkpoint as `manage.py ledger_checkpoint create` made it (with the witnesses'
    cosignatures): what receipts and proofs are given against. The files it also writes, kept
    away from the server, are the evidence; this copy only serves them."""

    size = models.PositiveBigIntegerField()
    head_hash = models.CharField(max_length=64)
    tree_root = models.CharField(max_length=64)
    created = models.CharField(max_length=32)  # as signed
    signed = models.JSONField()  # the whole checkpoint, cosignatures included
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["-size", "-recorded_at"]
        get_latest_by = "size"
        indexes = [models.Index(fields=["size"], name="ledger_checkpoint_size_idx")]

    def __str__(self) -> str:
        return f"checkpoint of {self.size} blocks ({self.created})"
