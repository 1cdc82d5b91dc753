"""The ledger's cryptography: block hash, HMAC signatures, checkpoint signatures. Pure.

hash      = SHA-256 hex of str(index) + timestamp + json.dumps(data, sort_keys=True) + prev_hash
signature = HMAC-SHA256(key, hash) as hex

The formats below (fixed-width UTC timestamp, 64-hex hashes, "0" only before the genesis
block) make that concatenation unambiguous; chain_verify() enforces them.
"""

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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
