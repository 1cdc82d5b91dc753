"""The ledger's cryptography: block hash, HMAC signatures, Ed25519 checkpoints. Pure.

hash      = SHA-256 hex of str(index) + timestamp + json.dumps(data, sort_keys=True) + prev_hash
signature = HMAC-SHA256(key, hash) as hex

The formats below (fixed-width UTC timestamp, 64-hex hashes, "0" only before the genesis
block) make that concatenation unambiguous; chain_verify() enforces them.
"""

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

GENESIS_PREV_HASH = "0"
HEX64 = re.compile(r"[0-9a-f]{64}")
TIMESTAMP = re.compile(
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}\+00:00"
)


def canonical_json(data: Mapping[str, Any]) -> str:
    """The exact text a block's data is hashed (and stored) as."""
    return json.dumps(data, sort_keys=True, allow_nan=False)


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds, e.g. 2026-11-23T10:35:00.123456+00:00."""
    if moment.tzinfo is None:
        raise ValueError("block timestamps must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def block_hash(index: int, timestamp: str, data_json: str, prev_hash: str) -> str:
    message = str(index) + timestamp + data_json + prev_hash
    return hashlib.sha256(message.encode()).hexdigest()


def sign(key: bytes, hash_hex: str) -> str:
    return hmac.digest(key, hash_hex.encode(), "sha256").hex()


@dataclass(frozen=True)
class Keyring:
    """HMAC keys by id: the current one signs, every one verifies."""

    current_id: str
    keys: Mapping[str, bytes]

    def __post_init__(self) -> None:
        if self.current_id not in self.keys:
            raise ValueError(f"signing key id {self.current_id!r} has no key")

    @classmethod
    def from_strings(cls, current_id: str, keys: Mapping[str, str]) -> "Keyring":
        return cls(current_id, {key_id: secret.encode() for key_id, secret in keys.items()})

    @property
    def current_key(self) -> bytes:
        return self.keys[self.current_id]


# --- Checkpoints ----------------------------------------------------------------------------
# A checkpoint states "the chain had `size` blocks, its last hash was `head_hash` and the
# RFC 9162 Merkle tree over its block hashes has root `tree_root`", signed with an Ed25519 key
# that is not the HMAC key and is held away from the server. A later chain that is shorter
# (truncated) or differs at that block (rewritten, even by someone holding the HMAC key)
# contradicts it; the root lets one block be proved in it without the others (ledger.merkle).
# Checkpoints made before the tree existed have no `tree_root` and still verify.

CHECKPOINT_FIELDS = ("chain", "size", "head_hash", "tree_root", "created")
CHECKPOINT_V1_FIELDS = ("chain", "size", "head_hash", "created")
CHECKPOINT_CHAIN = "hostel-ledger"


def checkpoint_message(statement: Mapping[str, Any]) -> bytes:
    """The bytes a checkpoint signature covers: its statement fields as canonical JSON."""
    fields = CHECKPOINT_FIELDS if "tree_root" in statement else CHECKPOINT_V1_FIELDS
    return canonical_json({name: statement[name] for name in fields}).encode()


def checkpoint_keygen() -> tuple[bytes, str]:
    """A new Ed25519 key pair: (private key as PEM, public key as base64)."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem, public_key_b64(private)


def public_key_b64(private: Ed25519PrivateKey) -> str:
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return base64.b64encode(raw).decode()


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the checkpoint key must be an Ed25519 private key")
    return key


def checkpoint_sign(
    private: Ed25519PrivateKey, *, size: int, head_hash: str, tree_root: str, created: str
) -> dict:
    statement: dict[str, Any] = {
        "chain": CHECKPOINT_CHAIN,
        "size": size,
        "head_hash": head_hash,
        "tree_root": tree_root,
        "created": created,
    }
    signature = private.sign(checkpoint_message(statement))
    return {
        **statement,
        "public_key": public_key_b64(private),
        "signature": base64.b64encode(signature).decode(),
    }


def public_key_check(public_key_b64: str) -> None:
    """ValueError unless ``public_key_b64`` is an Ed25519 public key: base64 of 32 bytes."""
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{public_key_b64!r} is not an Ed25519 public key (the base64 of 32 bytes, as "
            "`manage.py ledger_checkpoint keygen` prints it)"
        ) from exc


def checkpoint_signature_valid(checkpoint: Mapping[str, Any], public_key_b64: str) -> bool:
    """True when ``checkpoint`` is well formed and signed by the holder of that public key."""
    try:
        if checkpoint["chain"] != CHECKPOINT_CHAIN:
            return False
        if not isinstance(checkpoint["size"], int) or checkpoint["size"] < 1:
            return False
        if not HEX64.fullmatch(str(checkpoint["head_hash"])):
            return False
        if "tree_root" in checkpoint and not HEX64.fullmatch(str(checkpoint["tree_root"])):
            return False
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        public.verify(base64.b64decode(checkpoint["signature"]), checkpoint_message(checkpoint))
    except (KeyError, TypeError, ValueError, InvalidSignature):
        return False
    return True
