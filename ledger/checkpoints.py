"""Signed checkpoints: evidence kept outside the database that the chain was this long.

Create one regularly (`manage.py ledger_checkpoint create`) with an Ed25519 key that the
application server does not hold, and keep the files somewhere the database's
administrators cannot rewrite. `manage.py verify_chain --checkpoint FILE` then detects what
a chain alone cannot: its newest blocks deleted (truncation), or history rewritten by
someone holding the HMAC key.
"""

import json
from pathlib import Path
from typing import Any

from django.utils import timezone

from ledger import crypto
from ledger.models import Block
from ledger.verification import Report, chain_verify


class CheckpointError(Exception):
    """A checkpoint could not be created or read; the message says why."""


def checkpoint_create(*, private_key_pem: bytes) -> dict[str, Any]:
    """Verify the whole chain and, only if it is valid, sign its current head."""
    try:
        private = crypto.load_private_key(private_key_pem)
    except ValueError as exc:
        raise CheckpointError(f"cannot read the private key: {exc}") from exc
    report = chain_verify()
    if not report.valid:
        raise CheckpointError(
            f"the chain has {report.problem_count} problem(s); a checkpoint would certify "
            "them. Run `manage.py verify_chain` and resolve them first."
        )
    if report.head_size == 0:
        raise CheckpointError("the chain is empty; there is nothing to checkpoint yet")
    return crypto.checkpoint_sign(
        private,
        size=report.head_size,
        head_hash=report.head_hash,
        created=crypto.format_timestamp(timezone.now()),
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
    report: Report, checkpoint: dict[str, Any], *, public_key: str, name: str
) -> None:
    """Add a problem to ``report`` for every way the stored chain contradicts ``checkpoint``.

    Only ``public_key`` (configured by the operator) is trusted; the key a checkpoint file
    names for itself is not, since a forger would name their own.
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
