"""The standalone verifier against what a hostile export holds, and the head's tampering
that verify_chain reports: the same verdicts, and never a traceback (found by review)."""

import gzip
import io
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command

from ledger import audit, crypto
from ledger.models import Block
from ledger.verification import chain_verify


def exported(tmp_path, *args: str) -> list[str]:
    path = tmp_path / "chain.jsonl"
    call_command("export_chain", "--out", str(path), *args, stdout=io.StringIO())
    return path.read_text().splitlines()


def codes(lines: list[str], **options) -> set[tuple[int | None, str]]:
    return {(p["index"], p["code"]) for p in audit.audit_export(iter(lines), **options).problems}


def exit_status(path, capsys) -> tuple[int, str]:
    status = audit.main([str(path)])
    return status, capsys.readouterr().err


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE ledger_chainhead SET size = 8",  # the newest blocks hidden behind the head
        "DELETE FROM ledger_chainhead",
        "UPDATE ledger_chainhead SET timestamp = '2099-01-01T00:00:00.000000+00:00'",
    ],
    ids=["head-moved-back", "head-missing", "head-in-the-future"],
)
def test_the_heads_tampering_is_reported_as_verify_chain_reports_it(
    chain, tamper, tmp_path, edit
) -> None:
    chain(10)
    tamper(edit)

    found = codes(exported(tmp_path))

    assert found and found == {(p.index, p.code) for p in chain_verify().problems}


def test_an_export_from_the_end_of_the_chain_is_valid(chain, tmp_path) -> None:
    chain(4)

    lines = exported(tmp_path, "--from-index", "5")

    assert audit.audit_export(iter(lines)).valid and len(lines) == 2  # the anchor, the trailer


def test_a_checkpoint_before_the_export_cannot_pass_unchecked(chain, tmp_path) -> None:
    chain(10)
    lines = exported(tmp_path, "--from-index", "6")
    private = Ed25519PrivateKey.generate()
    signed = crypto.checkpoint_sign(
        private, size=3, head_hash="a" * 64, tree_root="b" * 64, created="x"
    )

    found = codes(
        lines, checkpoints=[("old", signed)], checkpoint_key=crypto.public_key_b64(private)
    )

    assert found == {(2, "checkpoint_unchecked")}


@pytest.mark.parametrize(
    "data",
    [
        '{"type": "test", "v": NaN}',
        '{"type": "test", "type": "other"}',
        '{"type": "test", "v": "\\ud800"}',
        "[" * 100_000,
    ],
    ids=["nan", "repeated-key", "lone-surrogate", "deep"],
)
def test_data_that_is_not_strict_json_is_a_format_problem(chain, tmp_path, data) -> None:
    chain(3)
    lines = exported(tmp_path)
    block = json.loads(lines[2])
    block["data"] = data

    found = codes([*lines[:2], json.dumps(block), *lines[3:]])

    assert (2, "format") in found and (2, "hash_mismatch") in found


def test_a_hostile_file_gets_an_exit_status_never_a_traceback(tmp_path, capsys) -> None:
    surrogate = tmp_path / "surrogate.jsonl"
    surrogate.write_text('{"index":0,"timestamp":"\\ud800"}\n', encoding="utf-8")
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "\n")
    corrupt = tmp_path / "corrupt.jsonl.gz"
    corrupt.write_bytes(gzip.compress(b'{"a": 1}\n' * 1000)[:40] + b"\x00" * 200)
    long_line = tmp_path / "long.jsonl"
    with long_line.open("w") as handle:
        handle.write("x" * (audit.MAX_LINE + 10) + "\n")

    assert exit_status(surrogate, capsys)[0] == 1
    assert exit_status(deep, capsys)[0] == 1
    status, said = exit_status(corrupt, capsys)
    assert status == 2 and "cannot audit" in said
    assert exit_status(long_line, capsys)[0] == 1


def test_a_block_line_with_a_repeated_key_is_not_a_block(chain, tmp_path) -> None:
    chain(2)
    lines = exported(tmp_path)
    first, rest = lines[1][:1], lines[1][1:]

    found = codes([lines[0], first + '"index":99,' + rest, *lines[2:]])

    assert (None, "format") in found
    assert Block.objects.count() == 3
