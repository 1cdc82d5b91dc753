"""Receipts: one block, its RFC 9162 inclusion proof, and the signed checkpoint it is in.

A receipt proves to someone holding only the checkpoint key's public half (a resident, a
guardian) that the block, as it reads, is in the log the checkpoint signed, without
showing any other block. `python -m ledger.audit --receipt FILE --checkpoint-key KEY`
checks one (ledger.audit_checks.receipt_check); docs/ledger-format.md has the format.

Proofs are against the latest checkpoint recorded here (ledger_checkpoint create records
each one it makes): a block newer than it has no receipt until the next checkpoint.
"""

from typing import Any

from django.conf import settings

from hostel.errors import DomainError
from ledger import crypto, merkle, tree
from ledger.audit_checks import BLOCK_FIELDS, RECEIPT_FORMAT
from ledger.models import Block, Checkpoint
from ledger.selectors import archive_anchor, checkpoint_latest


class ReceiptError(DomainError):
    """No receipt for that block (yet); the code and message say why."""


def receipt_for(block: Block) -> dict[str, Any]:
    """The receipt of ``block`` in the latest checkpoint's tree."""
    checkpoint = _latest_trusted()
    if block.index >= checkpoint.size:
        raise ReceiptError(
            "not_in_checkpoint",
            f"Block {block.index} is newer than the latest checkpoint ({checkpoint.size} "
            f"blocks, {checkpoint.created}); its receipt is available after the next one.",
        )
    try:
        proof = tree.inclusion(block.index, checkpoint.size)
    except tree.TreeError as exc:
        raise ReceiptError("proof_unavailable", f"No proof can be made now: {exc}.") from exc
    leaf = merkle.block_leaf(block.hash)
    if not merkle.verify_inclusion(
        block.index, checkpoint.size, leaf, proof, bytes.fromhex(checkpoint.tree_root)
    ):
        # The stored tree nodes disagree with the signed root: never hand out a bad proof.
        raise ReceiptError(
            "proof_unavailable",
            "The stored Merkle tree disagrees with the signed checkpoint; run "
            "`manage.py verify_chain` with that checkpoint.",
        )
    return {
        "format": RECEIPT_FORMAT,
        "block": {name: getattr(block, name) for name in BLOCK_FIELDS},
        "tree_size": checkpoint.size,
        "inclusion_proof": [node.hex() for node in proof],
        "checkpoint": checkpoint.signed,
    }


def _latest_trusted() -> Checkpoint:
    """The largest recorded checkpoint that is as signed (one bad row does not stop every
    receipt: the next good one serves)."""
    if checkpoint_latest() is None:
        raise ReceiptError(
            "no_checkpoint",
            "No checkpoint has been made yet, so no receipt can be given: run `manage.py "
            "ledger_checkpoint create` (daily, from cron).",
        )
    refused: ReceiptError | None = None
    for checkpoint in Checkpoint.objects.order_by("-size", "-recorded_at")[:50]:
        try:
            _trusted(checkpoint)
        except ReceiptError as exc:
            refused = refused or exc
            continue
        return checkpoint
    raise refused or ReceiptError("proof_unavailable", "No recorded checkpoint can be used.")


def _trusted(checkpoint: Checkpoint) -> None:
    """A recorded checkpoint is served only as signed (and, with a configured key, by it)."""
    signed = checkpoint.signed
    key = getattr(settings, "LEDGER_CHECKPOINT_PUBLIC_KEY", "")
    if (
        not isinstance(signed, dict)
        or (signed.get("size"), signed.get("tree_root")) != (checkpoint.size, checkpoint.tree_root)
        or (key and not crypto.checkpoint_signature_valid(signed, key))
    ):
        raise ReceiptError(
            "proof_unavailable",
            f"The recorded checkpoint of {checkpoint.size} blocks is not the one signed with "
            "the checkpoint key; record a good one (`manage.py ledger_checkpoint record`).",
        )


def receipt_block(index: int) -> Block:
    """The block a receipt is asked for; ReceiptError when it is not stored."""
    block = Block.objects.filter(index=index).first()
    if block is not None:
        return block
    anchor = archive_anchor()
    if anchor is not None and index <= anchor.last_index:
        raise ReceiptError(
            "archived",
            f"Block {index} is archived ({anchor.location}); receipts are given for stored "
            "blocks only. A receipt downloaded before it was archived stays valid.",
        )
    raise ReceiptError("not_found", f"There is no block {index}.")


def consistency_between(old_size: int, new_size: int) -> dict[str, Any]:
    """An RFC 9162 consistency proof between two recorded checkpoints' trees."""
    if old_size > new_size:
        raise ReceiptError("invalid", "The old checkpoint must not be larger than the new.")
    old, new = (
        Checkpoint.objects.filter(size=size).order_by("-recorded_at").first()
        for size in (old_size, new_size)
    )
    if old is None or new is None:
        missing = old_size if old is None else new_size
        raise ReceiptError("not_found", f"No checkpoint of {missing} blocks is recorded here.")
    _trusted(old)
    _trusted(new)
    try:
        proof = tree.consistency(old_size, new_size)
    except (tree.TreeError, ValueError) as exc:
        raise ReceiptError("proof_unavailable", f"No proof can be made now: {exc}.") from exc
    old_root, new_root = (bytes.fromhex(c.tree_root) for c in (old, new))
    if not merkle.verify_consistency(old_size, new_size, old_root, new_root, proof):
        raise ReceiptError(
            "proof_unavailable",
            "The stored Merkle tree disagrees with the signed checkpoints; run "
            "`manage.py verify_chain` with them.",
        )
    return {
        "old_checkpoint": old.signed,
        "new_checkpoint": new.signed,
        "consistency_proof": [node.hex() for node in proof],
    }
