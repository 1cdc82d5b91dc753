"""Receipts a resident or guardian can check without us: the resident page's download, the
proof API, and `python -m ledger.audit --receipt` run as they would run it."""

import json
import os
import subprocess
import sys

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from ledger import archive, crypto
from ledger.models import Block, TreeNode
from ledger.services import block_append_many
from residents import services
from tests.conftest import REPO, as_owner, make_checkpoint
from tests.residents.test_api import assert_error, token_for


@pytest.fixture
def api(warden) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(client, warden.username)}")
    return client


def checkpoint(checkpoint_key) -> None:
    make_checkpoint(checkpoint_key[0])


def check_offline(tmp_path, receipt: dict | str, public_key: str) -> tuple[int, str]:
    """What a guardian runs: the standalone verifier, without Django, on the file."""
    path = tmp_path / "receipt.json"
    path.write_text(receipt if isinstance(receipt, str) else json.dumps(receipt))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ledger.audit",
            "--receipt",
            str(path),
            "--checkpoint-key",
            public_key,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=environment,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def late_return(resident, warden, checkpoint_key):
    """A resident's OUT then IN among a few hundred other events, then a checkpoint."""
    services.resident_status_set(resident=resident, by=warden, status="OUT")
    block_append_many(items=(({"type": "test", "n": i}, "") for i in range(300)))
    services.resident_status_set(resident=resident, by=warden, status="IN")
    checkpoint(checkpoint_key)
    return Block.objects.filter(subject=str(resident.pk), type="status").order_by("index").last()


def test_the_resident_page_offers_a_receipt_that_checks_offline(
    client, warden, resident, late_return, checkpoint_key, tmp_path
) -> None:
    client.force_login(warden)
    page = client.get(f"/residents/{resident.pk}/").content.decode()
    link = f"/residents/{resident.pk}/receipt/{late_return.index}"
    assert link in page

    response = client.get(link)

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="receipt-block-{late_return.index}.json"'
    )
    receipt = json.loads(response.content)
    assert receipt["block"]["hash"] == late_return.hash
    status, output = check_offline(tmp_path, receipt, checkpoint_key[1])
    assert status == 0, output
    assert f"recorded at {late_return.timestamp}" in output and '"status": "IN"' in output


@pytest.mark.parametrize(
    "edit",
    [
        lambda r: r["block"].update(timestamp=r["block"]["timestamp"].replace("T", "T0")[:32]),
        lambda r: r["block"].update(data=r["block"]["data"].replace('"IN"', '"OUT"')),
        lambda r: r["inclusion_proof"].reverse(),
        lambda r: r.update(tree_size=r["tree_size"] + 1),
        lambda r: r["checkpoint"].update(tree_root="0" * 64),
    ],
    ids=["time", "status", "proof", "size", "root"],
)
def test_an_edited_receipt_is_refused_offline(
    client, warden, resident, late_return, checkpoint_key, tmp_path, edit
) -> None:
    client.force_login(warden)
    receipt = client.get(f"/residents/{resident.pk}/receipt/{late_return.index}").json()
    edit(receipt)

    status, output = check_offline(tmp_path, receipt, checkpoint_key[1])

    assert status == 1 and "Receipt INVALID" in output, output


def test_a_receipt_under_another_key_or_garbled_is_refused(
    client, warden, resident, late_return, tmp_path
) -> None:
    client.force_login(warden)
    receipt = client.get(f"/residents/{resident.pk}/receipt/{late_return.index}").json()
    _, other_key = crypto.checkpoint_keygen()

    assert check_offline(tmp_path, receipt, other_key)[0] == 1
    assert check_offline(tmp_path, "{not json", other_key)[0] == 1
    status, output = check_offline(tmp_path, receipt, "not-a-key")
    assert status == 2 and "Ed25519" in output


def test_another_residents_event_has_no_receipt_here(client, warden, resident, late_return) -> None:
    client.force_login(warden)
    other = Block.objects.filter(type="test")[0]

    assert client.get(f"/residents/{resident.pk}/receipt/{other.index}").status_code == 404


def test_an_event_after_the_last_checkpoint_says_when_its_receipt_comes(
    client, warden, resident, late_return
) -> None:
    services.resident_status_set(resident=resident, by=warden, status="OUT")
    newest = Block.objects.order_by("-index")[0]
    client.force_login(warden)

    page = client.get(f"/residents/{resident.pk}/").content.decode()
    response = client.get(f"/residents/{resident.pk}/receipt/{newest.index}", follow=True)

    assert "after the next checkpoint" in page
    assert "its receipt is available after the next one" in response.content.decode()


def test_the_proof_api_gives_the_receipt(api, late_return, checkpoint_key, tmp_path) -> None:
    response = api.get(f"/api/ledger/{late_return.index}/proof")

    assert response.status_code == 200, response.content
    assert check_offline(tmp_path, response.json(), checkpoint_key[1])[0] == 0


def test_the_proof_api_says_why_there_is_no_receipt(
    api, warden, resident, checkpoint_key, tmp_path
) -> None:
    assert_error(api.get("/api/ledger/1/proof"), 409, "no_checkpoint")
    checkpoint(checkpoint_key)
    services.resident_status_set(resident=resident, by=warden, status="IN")
    newest = Block.objects.order_by("-index")[0].index
    assert_error(api.get(f"/api/ledger/{newest}/proof"), 409, "not_in_checkpoint")
    assert_error(api.get("/api/ledger/999999/proof"), 404, "not_found")
    with as_owner():
        archive.chain_archive(
            before=timezone.now(), out=tmp_path, private_key_pem=checkpoint_key[0].read_bytes()
        )
    assert_error(api.get("/api/ledger/1/proof"), 410, "archived")


def test_a_stored_tree_node_that_was_changed_yields_no_proof(api, late_return, tamper) -> None:
    tamper("UPDATE ledger_treenode SET hash = %s", ["ab" * 32])
    assert TreeNode.objects.exists()

    error = assert_error(api.get(f"/api/ledger/{late_return.index}/proof"), 409)

    assert error["code"] == "proof_unavailable"


def test_consistency_between_checkpoints_is_for_auditors(
    api, guard, late_return, checkpoint_key
) -> None:
    first = Block.objects.count()
    block_append_many(items=(({"type": "test", "n": i}, "") for i in range(50)))
    checkpoint(checkpoint_key)

    response = api.get(f"/api/ledger/consistency?old={first}&new={first + 50}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["old_checkpoint"]["size"], body["new_checkpoint"]["size"]) == (first, first + 50)
    assert body["consistency_proof"]
    assert_error(api.get("/api/ledger/consistency?old=3&new=9"), 404, "not_found")
    assert_error(api.get("/api/ledger/consistency?old=x"), 400)
    as_guard = APIClient()
    as_guard.force_authenticate(guard)
    assert as_guard.get(f"/api/ledger/consistency?old={first}&new={first}").status_code == 403
