"""Checkpoints catch what a chain alone cannot: truncation and rewrites by a key holder."""

import base64
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from ledger import crypto
from ledger.models import Block, VerificationRun


def command(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command(*args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


@pytest.fixture
def keys(tmp_path) -> tuple:
    private = tmp_path / "auditor.pem"
    status, output = command("ledger_checkpoint", "keygen", "--private-key", str(private))
    assert status == 0
    public = output.split("LEDGER_CHECKPOINT_PUBLIC_KEY): ")[1].strip()
    return private, public


@pytest.fixture
def checkpoint(chain, keys, tmp_path):
    chain(10)
    path = tmp_path / "checkpoint-1.json"
    status, output = command(
        "ledger_checkpoint", "create", "--private-key", str(keys[0]), "--out", str(path)
    )
    assert status == 0, output
    return path


def rewrite_from(index: int, tamper, settings) -> None:
    """Rewrite block ``index``'s data, then re-hash and re-sign it and every block after it
    with the HMAC key, head included: what someone holding the key could do."""
    hmac_key = settings.LEDGER_HMAC_KEYS[settings.LEDGER_SIGNING_KEY_ID].encode()
    rows = list(Block.objects.order_by("index"))
    prev_hash = rows[index - 1].hash
    for block in rows[index:]:
        data = '{"n": "rewritten", "type": "test"}' if block.index == index else block.data
        new_hash = crypto.block_hash(block.index, block.timestamp, data, prev_hash)
        tamper(
            "UPDATE ledger_block SET data = %s, prev_hash = %s, hash = %s, signature = %s "
            'WHERE "index" = %s',
            [data, prev_hash, new_hash, crypto.sign(hmac_key, new_hash), block.index],
        )
        prev_hash = new_hash
    tamper("UPDATE ledger_chainhead SET hash = %s", [prev_hash])


def verify_against(path, public_key) -> tuple[int, str]:
    return command("verify_chain", "--checkpoint", str(path), "--checkpoint-key", public_key)


def test_a_checkpoint_signs_the_head_of_a_valid_chain(checkpoint, keys) -> None:
    saved = json.loads(checkpoint.read_text())

    assert saved["size"] == 11
    assert saved["head_hash"] == Block.objects.get(index=10).hash
    assert saved["public_key"] == keys[1]
    assert crypto.checkpoint_signature_valid(saved, keys[1])
    assert verify_against(checkpoint, keys[1])[0] == 0


def test_the_chain_may_grow_past_a_checkpoint(checkpoint, keys, chain) -> None:
    chain(5)

    assert verify_against(checkpoint, keys[1])[0] == 0


def test_it_catches_truncation_that_the_chain_alone_cannot(checkpoint, keys, tamper) -> None:
    block_8 = Block.objects.get(index=8)
    tamper('DELETE FROM ledger_block WHERE "index" >= 9')
    tamper(
        "UPDATE ledger_chainhead SET size = 9, hash = %s, timestamp = %s",
        [block_8.hash, block_8.timestamp],
    )
    assert command("verify_chain")[0] == 0  # consistent, shorter chain

    status, output = verify_against(checkpoint, keys[1])

    assert status == 1
    assert "block 10: checkpoint_truncated" in output


def test_it_catches_history_rewritten_by_someone_holding_the_hmac_key(
    checkpoint, keys, tamper, settings
) -> None:
    rewrite_from(3, tamper, settings)
    assert command("verify_chain")[0] == 0  # every hash, signature and link checks out

    status, output = verify_against(checkpoint, keys[1])

    assert status == 1
    assert "block 10: checkpoint_mismatch" in output


def test_it_refuses_a_checkpoint_signed_by_another_key(checkpoint, tmp_path) -> None:
    forger = tmp_path / "forger.pem"
    command("ledger_checkpoint", "keygen", "--private-key", str(forger))
    pem = forger.read_bytes()
    forged = crypto.checkpoint_sign(
        crypto.load_private_key(pem), size=3, head_hash="a" * 64, tree_root="b" * 64, created="x"
    )
    forged_path = tmp_path / "forged.json"
    forged_path.write_text(json.dumps(forged))
    trusted = json.loads(checkpoint.read_text())["public_key"]

    status, output = verify_against(forged_path, trusted)

    assert status == 1
    assert "checkpoint_signature" in output


def test_a_checkpoint_with_an_edited_size_no_longer_verifies(checkpoint, keys) -> None:
    saved = json.loads(checkpoint.read_text())
    saved["size"] = 5
    checkpoint.write_text(json.dumps(saved))

    status, output = verify_against(checkpoint, keys[1])

    assert status == 1
    assert "not signed by the trusted checkpoint key" in output


def test_it_refuses_to_checkpoint_an_invalid_chain(chain, keys, tamper) -> None:
    chain(3)
    tamper('UPDATE ledger_block SET signature = %s WHERE "index" = 2', ["0" * 64])

    status, output = command("ledger_checkpoint", "create", "--private-key", str(keys[0]))

    assert status == 1
    assert "a checkpoint would certify them" in output


def test_checkpoints_need_a_trusted_key_or_verification_cannot_run(checkpoint) -> None:
    status, output = command("verify_chain", "--checkpoint", str(checkpoint))

    assert status == 2
    assert "trusted public key" in output


def test_a_placeholder_key_is_a_configuration_error_not_tampering(checkpoint) -> None:
    runs = VerificationRun.objects.count()

    status, output = command(
        "verify_chain", "--checkpoint", str(checkpoint), "--checkpoint-key", "the-auditors-key"
    )

    assert status == 2
    assert "is not an Ed25519 public key" in output and "INVALID" not in output
    assert VerificationRun.objects.count() == runs  # no false alarm on the dashboard


def test_keygen_never_overwrites_a_key(keys) -> None:
    before = keys[0].read_bytes()

    status, output = command("ledger_checkpoint", "keygen", "--private-key", str(keys[0]))

    assert status == 2
    assert "refusing to overwrite" in output
    assert keys[0].read_bytes() == before
    assert oct(keys[0].stat().st_mode & 0o777) == "0o600"


# --- The same checks by the standalone verifier, on an export ----------------------------------


def truncate_to(size: int, tamper) -> None:
    """Delete the newest blocks and move the head back: a consistent, shorter chain."""
    last = Block.objects.get(index=size - 1)
    tamper('DELETE FROM ledger_block WHERE "index" >= %s', [size])
    tamper(
        "UPDATE ledger_chainhead SET size = %s, hash = %s, timestamp = %s",
        [size, last.hash, last.timestamp],
    )


@pytest.mark.parametrize("removed", [1, 5, 10], ids=["newest", "newest-5", "all-but-genesis"])
def test_truncation_is_caught_by_both_verifiers(checkpoint, keys, tamper, audit, removed):
    truncate_to(11 - removed, tamper)
    assert command("verify_chain")[0] == 0
    assert audit()[0] == 0  # a consistent, shorter chain: only the checkpoint can tell

    status, output = verify_against(checkpoint, keys[1])
    audited, report = audit("--checkpoint", str(checkpoint), "--checkpoint-key", keys[1])

    assert status == 1 and "block 10: checkpoint_truncated" in output
    assert audited == 1
    assert [(p["index"], p["code"]) for p in report["problems"]] == [(10, "checkpoint_truncated")]


def test_a_rewrite_re_signed_with_the_hmac_key_is_caught_by_both(
    checkpoint, keys, tamper, settings, audit
) -> None:
    rewrite_from(7, tamper, settings)
    assert audit()[0] == 0  # hashes, signatures and links all check out

    audited, report = audit("--checkpoint", str(checkpoint), "--checkpoint-key", keys[1])

    assert verify_against(checkpoint, keys[1])[0] == 1
    assert audited == 1
    assert [(p["index"], p["code"]) for p in report["problems"]] == [(10, "checkpoint_mismatch")]


def test_a_checkpoint_with_a_flipped_byte_is_refused_by_both(checkpoint, keys, audit) -> None:
    saved = json.loads(checkpoint.read_text())
    signature = bytearray(base64.b64decode(saved["signature"]))
    signature[0] ^= 1
    saved["signature"] = base64.b64encode(bytes(signature)).decode()
    checkpoint.write_text(json.dumps(saved))

    status, output = verify_against(checkpoint, keys[1])
    audited, report = audit("--checkpoint", str(checkpoint), "--checkpoint-key", keys[1])

    assert status == 1 and "checkpoint_signature" in output
    assert audited == 1
    assert [p["code"] for p in report["problems"]] == ["checkpoint_signature"]


def test_the_verifier_cannot_run_without_a_readable_file_or_a_trusted_key(
    checkpoint, audit, tmp_path
) -> None:
    bad_key, report = audit("--checkpoint", str(checkpoint), "--checkpoint-key", "not-a-key")
    no_file = subprocess.run(
        [sys.executable, "-m", "ledger.audit", str(tmp_path / "missing.jsonl")],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )

    assert bad_key == 2 and "Ed25519 public key" in report["stderr"]
    assert no_file.returncode == 2 and "cannot audit" in no_file.stderr
