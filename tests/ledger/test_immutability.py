import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction

from ledger.models import Block, ChainHead, LedgerImmutableError
from tests.conftest import as_owner


@pytest.fixture
def block(chain):
    return chain(2)[-1]


def test_saving_an_existing_block_raises(block) -> None:
    block.data = '{"type": "test", "n": "rewritten"}'

    with pytest.raises(LedgerImmutableError):
        block.save()

    assert Block.objects.get(index=block.index).data != block.data


def test_deleting_a_block_raises(block) -> None:
    with pytest.raises(LedgerImmutableError):
        block.delete()
    with pytest.raises(LedgerImmutableError):
        Block.objects.filter(index=block.index).delete()

    assert Block.objects.filter(index=block.index).exists()


def test_queryset_updates_raise(block) -> None:
    with pytest.raises(LedgerImmutableError):
        Block.objects.filter(index=block.index).update(data="{}")
    with pytest.raises(LedgerImmutableError):
        Block.objects.bulk_update([block], ["data"])


def test_blocks_cannot_be_written_around_the_service(block) -> None:
    forged = Block(
        index=3,
        timestamp=block.timestamp,
        data="{}",
        prev_hash=block.hash,
        hash="a" * 64,
        signature="b" * 64,
        key_id="k1",
    )
    with pytest.raises(LedgerImmutableError):
        forged.save()
    with pytest.raises(LedgerImmutableError):
        Block.objects.create(index=3, data="{}")
    with pytest.raises(LedgerImmutableError):
        Block.objects.bulk_create([forged])

    assert Block.objects.count() == 3


@pytest.mark.postgres_only
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_block SET data = '{}' WHERE index = 1",
        "DELETE FROM ledger_block WHERE index = 1",
        "TRUNCATE ledger_block",
    ],
)
def test_postgres_refuses_raw_changes_to_blocks(block, sql) -> None:
    # The application's role has no such privilege at all; even the owner meets the trigger.
    with (
        pytest.raises(DatabaseError, match="permission denied"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    with (
        as_owner(),
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)

    assert Block.objects.count() == 3
    assert Block.objects.get(index=1).data != "{}"


@pytest.fixture
def superuser_client(client, db):
    user = User.objects.create_superuser("root", "root@example.org", "a long passphrase 1")
    client.force_login(user)
    return client


def test_the_admin_lists_blocks_but_cannot_add_change_or_delete(block, superuser_client):
    listing = superuser_client.get("/admin/ledger/block/")
    assert listing.status_code == 200
    assert block.hash[:16] in listing.content.decode()
    assert b"Add block" not in listing.content
    assert b"delete_selected" not in listing.content

    assert superuser_client.get("/admin/ledger/block/add/").status_code == 403
    pk = block.pk
    detail = superuser_client.get(f"/admin/ledger/block/{pk}/change/")
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content
    response = superuser_client.post(f"/admin/ledger/block/{pk}/change/", {"data": "{}"})
    assert response.status_code == 403
    assert (
        superuser_client.post(f"/admin/ledger/block/{pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert superuser_client.get("/admin/ledger/chainhead/add/").status_code == 403

    assert Block.objects.get(pk=pk).data == block.data
    assert ChainHead.objects.get().size == 3
