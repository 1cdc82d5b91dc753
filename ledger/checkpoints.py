"""Signed checkpoints: evidence kept outside the database that the chain was this long.

Create one regularly (`manage.py ledger_checkpoint create`) with an Ed25519 key that the
application server does not hold, and keep the files somewhere the database's
administrators cannot rewrite. `manage.py verify_chain --checkpoint FILE` then detects what
a chain alone cannot: its newest blocks deleted (truncation), or history rewritten by
someone holding the HMAC key.
"""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ledger import crypto, tree, witnesses
from ledger.models import Block, Checkpoint
from ledger.segments import archived_hash
from ledger.selectors import archive_anchor
from ledger.verification import Report, chain_verify


class CheckpointError(Exception):
    """A checkpoint could not be created or read; the message says why."""


def signing_key(private_key_pem: bytes) -> Ed25519PrivateKey:
    """The checkpoint private key, refused unless it is the configured public key's half
    (what it signed would not verify)."""
    try:
        private = crypto.load_private_key(private_key_pem)
    except ValueError as exc:
        raise CheckpointError(f"cannot read the private key: {exc}") from exc
    configured = getattr(settings, "LEDGER_CHECKPOINT_PUBLIC_KEY", "")
    if configured and crypto.public_key_b64(private) != configured:
        raise CheckpointError(
            "that private key is not the half of LEDGER_CHECKPOINT_PUBLIC_KEY: what it signs "
            "would not verify"
        )
    return private


def checkpoint_create(*, private_key_pem: bytes) -> dict[str, Any]:
    """Verify the whole chain and, only if it is valid, sign its current head and the Merkle
    tree's root over it (storing the tree's nodes for proofs, ledger.tree)."""
    private = signing_key(private_key_pem)
    report = chain_verify()
    if not report.valid:
        raise CheckpointError(
            f"the chain has {report.problem_count} problem(s); a checkpoint would certify "
            "them. Run `manage.py verify_chain` and resolve them first."
        )
    if report.head_size == 0:
        raise CheckpointError("the chain is empty; there is nothing to checkpoint yet")
    try:
        root, _ = tree.tree_store(report.head_size)  # a read-only role stores it later
    except tree.TreeError as exc:
        raise CheckpointError(f"cannot compute the tree's root: {exc}") from exc
    return crypto.checkpoint_sign(
        private,
        size=report.head_size,
        head_hash=report.head_hash,
        tree_root=root.hex(),
        created=crypto.format_timestamp(timezone.now()),
    )


# A witness's refusal that says the hostel showed it another history: never routine.
CONFLICTS = ("split_view", "inconsistent", "older_than_seen")


def checkpoint_witness(
    checkpoint: dict[str, Any], urls: Sequence[str], *, timeout: float = 10
) -> list[witnesses.WitnessError]:
    """Ask each witness to cosign ``checkpoint``; add their cosignatures to it and return
    the refusals (a conflict, code in CONFLICTS, carries the witness's own checkpoint)."""
    size = checkpoint["size"]
    cosignatures: list[dict[str, Any]] = checkpoint.setdefault("cosignatures", [])
    refusals = []
    for url in urls:
        try:
            cosignatures.append(
                witnesses.witness_submit(
                    url, checkpoint, lambda old: tree.consistency(old, size), timeout=timeout
                )
            )
        except witnesses.WitnessError as exc:
            refusals.append(exc)
        except tree.TreeError as exc:  # the witness's last size is before the archive's end
            refusals.append(witnesses.WitnessError("proof_unavailable", f"{url}: {exc}"))
    return refusals


def checkpoint_accept(checkpoint: dict[str, Any]) -> Checkpoint:
    """Record a checkpoint made elsewhere (by a read-only role, on the auditor's machine) so
    that receipts can be given against it: only one signed by LEDGER_CHECKPOINT_PUBLIC_KEY,
    over this chain as stored, with its tree's nodes then stored here."""
    key = getattr(settings, "LEDGER_CHECKPOINT_PUBLIC_KEY", "")
    if not key:
        raise CheckpointError("set LEDGER_CHECKPOINT_PUBLIC_KEY: only its checkpoints are kept")
    if "tree_root" not in checkpoint:
        raise CheckpointError("the checkpoint has no tree root: receipts need one")
    report = Report()
    checkpoint_check(report, checkpoint, public_key=key, name="the checkpoint")
    if not report.valid:
        raise CheckpointError("; ".join(problem.message for problem in report.problems))
    try:
        _, stored = tree.tree_store(checkpoint["size"])
    except tree.TreeError as exc:
        raise CheckpointError(str(exc)) from exc
    if not stored:
        raise CheckpointError("the database refused to store the tree's nodes (a read-only role?)")
    return checkpoint_record(checkpoint)


def checkpoint_record(checkpoint: dict[str, Any]) -> Checkpoint:
    """Keep a copy of a checkpoint made here, so that proofs and receipts can be given
    against it (the evidence is the file kept elsewhere)."""
    with transaction.atomic():  # refused (a read-only role): the caller's transaction lives on
        return Checkpoint.objects.create(
            size=checkpoint["size"],
            head_hash=checkpoint["head_hash"],
            tree_root=checkpoint["tree_root"],
            created=checkpoint["created"],
            signed=checkpoint,
            recorded_at=timezone.now(),
        )


def checkpoint_load(path: Path) -> dict[str, Any]:
    try:
        checkpoint = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"checkpoint {path} is not a JSON object")
    return checkpoint


def checkpoint_check(
    report: Report,
    checkpoint: dict[str, Any],
    *,
    public_key: str,
    name: str,
    archive: Path | None = None,
) -> None:
    """Add a problem to ``report`` for every way the stored chain contradicts ``checkpoint``.

    Only ``public_key`` (configured by the operator) is trusted; the key a checkpoint file
    names for itself is not, since a forger would name their own. A checkpoint whose block is
    archived is checked against the segment in ``archive``, or the anchor when it is that
    block; otherwise it is reported unchecked.
    """
    if not crypto.checkpoint_signature_valid(checkpoint, public_key):
        report.add(
            None,
            "checkpoint_signature",
            f"checkpoint {name} is malformed or not signed by the trusted checkpoint key",
        )
        return
    last = checkpoint["size"] - 1
    stored = Block.objects.filter(index=last).values_list("hash", flat=True).first()
    anchor = archive_anchor()
    if stored is None and anchor is not None and last <= anchor.last_index:
        if last == anchor.last_index:
            stored = anchor.last_hash
        elif archive is not None:
            stored = archived_hash(archive, last)
        if stored is None:
            report.add(
                last,
                "checkpoint_unchecked",
                f"checkpoint {name} names block {last}, which is archived: verify with "
                "--archive DIR to check it",
            )
            return
    if stored is None:
        report.add(
            last,
            "checkpoint_truncated",
            f"checkpoint {name} ({checkpoint['created']}) saw {checkpoint['size']} blocks, "
            f"but block {last} no longer exists: the chain was cut short",
        )
    elif stored != checkpoint["head_hash"]:
        report.add(
            last,
            "checkpoint_mismatch",
            f"block {last} differs from checkpoint {name} ({checkpoint['created']}): "
            "history was rewritten",
        )
    elif "tree_root" in checkpoint:
        _tree_check(report, checkpoint, name)


def _tree_check(report: Report, checkpoint: dict[str, Any], name: str) -> None:
    """The root the checkpoint signed must be the tree over the blocks as stored."""
    try:
        root = tree.tree_root(checkpoint["size"]).hex()
    except tree.TreeError as exc:
        report.notes.append(f"the Merkle tree root of checkpoint {name} was not checked: {exc}")
        return
    if root != checkpoint["tree_root"]:
        report.add(
            checkpoint["size"] - 1,
            "checkpoint_mismatch",
            f"the Merkle tree over blocks 0..{checkpoint['size'] - 1} differs from the root "
            f"checkpoint {name} signed: a block's hash was changed",
        )


def split_view_check(
    report: Report,
    checkpoints: Sequence[dict[str, Any]],
    *,
    public_key: str,
    witness_keys: dict[str, str],
) -> None:
    """Report every size for which two checkpoints signed with the trusted key disagree:
    those given (files, witnesses' latest) and those recorded here. The hostel showed two
    histories; the message names the witnesses that cosigned each."""
    recorded = [row.signed for row in Checkpoint.objects.only("signed").iterator()]
    for size, message in witnesses.split_views([*checkpoints, *recorded], witness_keys, public_key):
        report.add(size - 1, "split_view", message)
