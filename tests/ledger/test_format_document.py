"""docs/ledger-format.md's worked example is what the code computes, and the standalone
verifier accepts it: the document cannot drift from the software."""

import ast
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger import audit, crypto, merkle

REPO = Path(__file__).resolve().parents[2]
DOCUMENT = (REPO / "docs" / "ledger-format.md").read_text()
EXAMPLE_KEY = b"example-key-for-the-docs"


def fenced(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOCUMENT, re.DOTALL)


def example_lines() -> list[str]:
    return fenced("jsonl")[0].splitlines()


def example(language: str) -> list[str]:
    """The fenced blocks of the worked example (the end of the document)."""
    worked = DOCUMENT[DOCUMENT.index("## Worked example") :]
    return re.findall(rf"```{language}\n(.*?)```", worked, re.DOTALL)


def example_checkpoint() -> dict:
    return json.loads(example("json")[0])


def example_receipt() -> dict:
    receipt = json.loads(example("json")[1])
    receipt["checkpoint"] = example_checkpoint()
    return receipt


def test_each_example_block_hashes_and_signs_as_the_code_does() -> None:
    blocks = [json.loads(line) for line in example_lines()[:-1]]

    for block in blocks:
        expected = crypto.block_hash(
            block["index"], block["timestamp"], block["data"], block["prev_hash"]
        )
        assert block["hash"] == expected
        assert block["signature"] == crypto.sign(EXAMPLE_KEY, expected)
        assert block["data"] == crypto.canonical_json(json.loads(block["data"]))
    hash_input = ast.literal_eval(fenced("text")[0].strip())
    assert hashlib.sha256(hash_input.encode()).hexdigest() == blocks[1]["hash"]


def test_the_example_checkpoint_is_signed_by_the_seed_key_over_the_stated_message() -> None:
    checkpoint = example_checkpoint()
    private = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))

    assert checkpoint["public_key"] == crypto.public_key_b64(private)
    assert crypto.checkpoint_message(checkpoint).decode() == example("text")[1].strip()
    leaves = [merkle.block_leaf(json.loads(line)["hash"]) for line in example_lines()[:-1]]
    assert checkpoint["tree_root"] == merkle.root(leaves).hex()
    # Ed25519 signatures are deterministic: the code signs the same bytes the same way.
    again = crypto.checkpoint_sign(
        private,
        size=checkpoint["size"],
        head_hash=checkpoint["head_hash"],
        tree_root=checkpoint["tree_root"],
        created=checkpoint["created"],
    )
    assert again == checkpoint


def test_the_example_receipt_is_the_proof_the_code_makes_and_checks(tmp_path) -> None:
    receipt = example_receipt()
    leaves = [merkle.block_leaf(json.loads(line)["hash"]) for line in example_lines()[:-1]]
    proof = merkle.inclusion_proof(1, 3, merkle.perfect_from_leaves(leaves))
    assert receipt["inclusion_proof"] == [node.hex() for node in proof]
    assert receipt["block"] == json.loads(example_lines()[1])
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt))
    public = example_checkpoint()["public_key"]

    assert audit.main(["--receipt", str(path), "--checkpoint-key", public]) == 0
    receipt["block"]["timestamp"] = receipt["block"]["timestamp"].replace("21:41", "21:40")
    path.write_text(json.dumps(receipt))
    assert audit.main(["--receipt", str(path), "--checkpoint-key", public]) == 1


def test_the_standalone_verifier_accepts_the_example_and_catches_an_edit(tmp_path) -> None:
    export = tmp_path / "example.jsonl"
    export.write_text("\n".join(example_lines()) + "\n")
    keys = tmp_path / "keys"
    keys.write_text("k1:example-key-for-the-docs\n")
    checkpoint = tmp_path / "checkpoint.json"
    checkpoint.write_text(json.dumps(example_checkpoint()))
    command = [
        sys.executable,
        "-m",
        "ledger.audit",
        str(export),
        "--hmac-key-file",
        str(keys),
        "--checkpoint",
        str(checkpoint),
        "--checkpoint-key",
        example_checkpoint()["public_key"],
    ]

    valid = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    export.write_text(export.read_text().replace('\\"IN\\"', '\\"OUT\\"'))
    edited = subprocess.run(command, capture_output=True, text=True, cwd=REPO)

    assert valid.returncode == 0 and "Ledger valid: 3 blocks checked" in valid.stdout
    assert edited.returncode == 1
    assert "block 2: hash_mismatch" in edited.stdout
    assert "block 2: checkpoint_mismatch" not in edited.stdout  # the stored hash still matches
    assert audit.EXPORT_FORMAT in DOCUMENT


def test_the_standalone_verifier_imports_no_django() -> None:
    probe = "import sys, ledger.audit; print(sorted(m for m in sys.modules if 'django' in m))"

    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True
    )

    assert done.stdout.strip() == "[]"
