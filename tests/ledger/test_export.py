"""manage.py export_chain: the file an auditor checks without us (python -m ledger.audit)."""

import gzip
import io
import json

import pytest
from django.core.management import CommandError, call_command

from ledger import audit, crypto
from ledger.services import block_append


def export(path, *args: str) -> str:
    out = io.StringIO()
    call_command("export_chain", "--out", str(path), *args, stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("name", ["chain.jsonl", "chain.jsonl.gz"])
def test_an_export_holds_every_block_exactly_as_stored(chain, tmp_path, name) -> None:
    blocks = chain(4)
    blocks.append(block_append(data={"type": "test", "name": "Lucía 🌙", "quote": 'say "hi"\\'}))
    path = tmp_path / name

    said = export(path)

    opener = gzip.open if name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        lines = [json.loads(line) for line in handle]
    rows, trailer = lines[:-1], lines[-1]["trailer"]
    last = blocks[-1]
    assert [row["index"] for row in rows] == list(range(6))
    assert rows[-1] == {
        "index": last.index,
        "timestamp": last.timestamp,
        "data": last.data,  # the stored text, character for character
        "prev_hash": last.prev_hash,
        "hash": last.hash,
        "signature": last.signature,
        "key_id": last.key_id,
    }
    assert (
        crypto.block_hash(5, rows[-1]["timestamp"], rows[-1]["data"], last.prev_hash) == last.hash
    )
    assert trailer["size"] == 6 and trailer["head_hash"] == last.hash and trailer["blocks"] == 6
    assert "Exported 6 blocks" in said
    assert audit.audit_export(audit.export_lines(path)).valid


def test_an_export_from_an_index_verifies_and_says_what_it_did_not_check(chain, tmp_path):
    chain(10)
    path = tmp_path / "tail.jsonl"

    export(path, "--from-index", "6")
    result = audit.audit_export(audit.export_lines(path))

    # Block 5 anchors the link to 6, as verify_chain --from-index 6 re-checks it.
    assert result.valid and result.blocks == 6 and result.from_index == 6
    assert any("starts at block 5" in note for note in result.notes)


def test_a_file_cut_short_is_caught(chain, tmp_path) -> None:
    chain(5)
    path = tmp_path / "chain.jsonl"
    export(path)
    lines = path.read_text().splitlines()

    without_trailer = audit.audit_export(iter(lines[:-1]))
    without_newest = audit.audit_export(iter([*lines[:-2], lines[-1]]))

    assert [p["code"] for p in without_trailer.problems] == ["head_mismatch"]
    assert "cut short" in without_trailer.problems[0]["message"]
    assert [(p["index"], p["code"]) for p in without_newest.problems] == [
        (None, "format"),  # the trailer counts 6 blocks
        (5, "head_mismatch"),
    ]


def test_a_failed_export_leaves_no_file(chain, tmp_path) -> None:
    chain(3)
    target = tmp_path / "chain.jsonl"
    target.mkdir()  # the whole file is written, then the rename onto a directory fails
    (target / "kept").write_text("not touched")

    with pytest.raises(CommandError) as failed:
        export(target)

    assert failed.value.returncode == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["chain.jsonl"]  # no .partial
    assert [path.name for path in target.iterdir()] == ["kept"]
