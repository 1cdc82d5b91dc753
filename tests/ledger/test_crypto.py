import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ledger import crypto


def test_block_hash_is_sha256_of_the_designed_concatenation() -> None:
    data = {"type": "scan", "room": "B-214", "status": "IN", "resident_name": "Zoë"}
    timestamp = "2026-11-23T10:35:00.123456+00:00"
    prev = "ab" * 32
    expected = hashlib.sha256(
        ("7" + timestamp + json.dumps(data, sort_keys=True) + prev).encode("utf-8")
    ).hexdigest()

    assert crypto.block_hash(7, timestamp, crypto.canonical_json(data), prev) == expected


def test_signature_is_hmac_sha256_of_the_hash_hex() -> None:
    key = b"a key only the server holds"
    block_hash = hashlib.sha256(b"anything").hexdigest()
    expected = hmac.new(key, block_hash.encode(), hashlib.sha256).hexdigest()

    assert crypto.sign(key, block_hash) == expected
    assert crypto.sign(b"another key", block_hash) != expected


def test_canonical_json_sorts_keys_and_refuses_nan() -> None:
    assert crypto.canonical_json({"b": 1, "a": [2, {"d": 3, "c": 4}]}) == (
        '{"a": [2, {"c": 4, "d": 3}], "b": 1}'
    )
    with pytest.raises(ValueError):
        crypto.canonical_json({"x": float("nan")})


def test_timestamps_are_utc_with_microseconds() -> None:
    moment = datetime(2026, 11, 23, 12, 35, 0, tzinfo=timezone(timedelta(hours=2)))

    text = crypto.format_timestamp(moment)

    assert text == "2026-11-23T10:35:00.000000+00:00"
    assert crypto.TIMESTAMP.fullmatch(text)
    assert not crypto.TIMESTAMP.fullmatch("2026-11-23T10:35:00+00:00")
    assert not crypto.TIMESTAMP.fullmatch("2026-13-23T10:35:00.000000+00:00")
    with pytest.raises(ValueError):
        crypto.format_timestamp(datetime(2026, 11, 23))  # naive


def test_keyring_needs_a_key_for_the_signing_id() -> None:
    ring = crypto.Keyring.from_strings("k2", {"k1": "old", "k2": "new"})

    assert ring.current_key == b"new"
    with pytest.raises(ValueError):
        crypto.Keyring.from_strings("k3", {"k1": "old"})


def test_timestamp_format_matches_python_isoformat_of_utc() -> None:
    now = datetime.now(UTC)
    assert crypto.format_timestamp(now) == now.isoformat(timespec="microseconds")
