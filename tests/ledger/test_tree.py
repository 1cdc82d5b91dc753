"""The Merkle tree over the stored chain (ledger.tree): roots, and proofs read from stored
nodes, checked by ledger.merkle's RFC 9162 verifiers; with and without an archive."""

import pytest
from django.utils import timezone

from ledger import archive, crypto, merkle, tree
from ledger.checkpoints import checkpoint_check
from ledger.models import Block, Checkpoint, TreeNode
from ledger.services import block_append_many
from ledger.verification import chain_verify
from tests.conftest import as_owner, make_checkpoint


def grow(count: int) -> None:
    block_append_many(items=(({"type": "test", "n": i}, "") for i in range(count)))


def checkpoint(checkpoint_key) -> dict:
    make_checkpoint(checkpoint_key[0])
    return Checkpoint.objects.order_by("-size")[0].signed


def leaves() -> list[bytes]:
    return [
        merkle.block_leaf(h) for h in Block.objects.order_by("index").values_list("hash", flat=True)
    ]


def test_a_checkpoint_signs_the_root_of_the_tree_over_every_block(db, checkpoint_key) -> None:
    grow(700)

    signed = checkpoint(checkpoint_key)

    assert signed["size"] == 701
    assert signed["tree_root"] == merkle.root(leaves()).hex()
    assert crypto.checkpoint_signature_valid(signed, checkpoint_key[1])
    # Subtrees of 256 blocks and up are stored: two of 256, one of 512.
    assert set(TreeNode.objects.values_list("level", "position")) == {(8, 0), (8, 1), (9, 0)}


def test_every_inclusion_proof_from_stored_nodes_verifies(db, checkpoint_key) -> None:
    grow(600)
    signed = checkpoint(checkpoint_key)
    root = bytes.fromhex(signed["tree_root"])
    all_leaves = leaves()

    for index in range(signed["size"]):
        proof = tree.inclusion(index, signed["size"])
        assert merkle.verify_inclusion(index, signed["size"], all_leaves[index], proof, root)
    wrong = tree.inclusion(5, signed["size"])
    assert not merkle.verify_inclusion(6, signed["size"], all_leaves[6], wrong, root)


def test_consistency_proofs_between_checkpoints_verify(db, checkpoint_key) -> None:
    grow(299)
    first = checkpoint(checkpoint_key)
    grow(400)
    second = checkpoint(checkpoint_key)
    all_leaves = leaves()

    proof = tree.consistency(first["size"], second["size"])
    assert merkle.verify_consistency(
        first["size"],
        second["size"],
        bytes.fromhex(first["tree_root"]),
        bytes.fromhex(second["tree_root"]),
        proof,
    )
    for old in range(1, second["size"] + 1, 37):
        old_root = merkle.root(all_leaves[:old])
        new_root = bytes.fromhex(second["tree_root"])
        assert merkle.verify_consistency(
            old, second["size"], old_root, new_root, tree.consistency(old, second["size"])
        )


def test_after_archival_roots_and_proofs_of_stored_blocks_still_verify(
    db, checkpoint_key, tmp_path
) -> None:
    grow(300)
    every = leaves()
    with as_owner():
        archive.chain_archive(
            before=timezone.now(), out=tmp_path, private_key_pem=checkpoint_key[0].read_bytes()
        )
    grow(300)
    every += leaves()[1:]  # blocks 301..: block 300, the newest then, was kept
    assert Block.objects.order_by("index")[0].index == 300

    signed = checkpoint(checkpoint_key)

    assert signed["tree_root"] == merkle.root(every).hex()
    root = bytes.fromhex(signed["tree_root"])
    for index in range(300, signed["size"]):
        proof = tree.inclusion(index, signed["size"])
        assert merkle.verify_inclusion(index, signed["size"], every[index], proof, root)
    for old in range(300, signed["size"], 7):  # trees that end after the archive
        proof = tree.consistency(old, signed["size"])
        assert merkle.verify_consistency(old, signed["size"], merkle.root(every[:old]), root, proof)
    with pytest.raises(tree.TreeError, match="archived"):
        tree.inclusion(10, signed["size"])


def test_a_signed_root_that_is_not_the_chains_is_reported(db, checkpoint_key) -> None:
    grow(20)
    signed = checkpoint(checkpoint_key)
    wrong = crypto.checkpoint_sign(
        crypto.load_private_key(checkpoint_key[0].read_bytes()),
        size=signed["size"],
        head_hash=signed["head_hash"],
        tree_root="ab" * 32,
        created=signed["created"],
    )
    report = chain_verify()

    checkpoint_check(report, wrong, public_key=checkpoint_key[1], name="wrong")
    checkpoint_check(report, signed, public_key=checkpoint_key[1], name="right")

    assert [(p.index, p.code) for p in report.problems] == [(20, "checkpoint_mismatch")]
    assert "Merkle tree" in report.problems[0].message


def test_a_proof_reads_a_few_rows_whatever_the_size(
    db, checkpoint_key, django_assert_max_num_queries
):
    grow(1100)  # four stored subtrees of 256, two of 512, one of 1024
    size = checkpoint(checkpoint_key)["size"]

    for index in (0, 300, 1023, size - 1):
        # The anchor, the stored nodes the proof can ask for, the block hashes around it and
        # around the tree's right edge.
        with django_assert_max_num_queries(4):
            tree.inclusion(index, size)
    with django_assert_max_num_queries(5):  # and around the old tree's right edge
        tree.consistency(700, size)
