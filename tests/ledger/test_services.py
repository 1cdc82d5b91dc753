import hashlib
import hmac
import itertools
import json
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from ledger import services
from ledger.models import Block, ChainHead
from ledger.services import LedgerCorruptError, LedgerError, block_append, block_append_many
from ledger.verification import chain_verify
from tests.conftest import chain_head_held


def _independent_hash(block: Block) -> str:
    message = str(block.index) + block.timestamp + block.data + block.prev_hash
    return hashlib.sha256(message.encode()).hexdigest()


@pytest.mark.django_db
def test_the_first_append_creates_the_genesis_block_exactly_once() -> None:
    block_append(data={"type": "test", "n": 1})
    block_append(data={"type": "test", "n": 2})

    genesis = Block.objects.filter(data='{"type": "genesis"}')
    assert genesis.count() == 1
    assert genesis.get().index == 0
    assert genesis.get().prev_hash == "0"
    assert list(Block.objects.values_list("index", flat=True)) == [0, 1, 2]


@pytest.mark.django_db
def test_blocks_are_hashed_signed_and_linked_as_designed(settings) -> None:
    blocks = [block_append(data={"type": "test", "n": n, "name": "Zoë"}) for n in range(3)]
    stored = list(Block.objects.order_by("index"))
    key = settings.LEDGER_HMAC_KEYS[settings.LEDGER_SIGNING_KEY_ID].encode()

    for block in stored:
        assert block.hash == _independent_hash(block)
        assert block.signature == hmac.new(key, block.hash.encode(), hashlib.sha256).hexdigest()
        assert block.key_id == settings.LEDGER_SIGNING_KEY_ID
    for previous, block in itertools.pairwise(stored):
        assert block.prev_hash == previous.hash
        assert block.timestamp >= previous.timestamp
    head = ChainHead.objects.get()
    assert (head.size, head.hash) == (4, blocks[-1].hash)


@pytest.mark.django_db
def test_data_reads_back_byte_identical_for_hashing() -> None:
    data = {
        "type": "test",
        "zeta": 1,
        "alpha": {"nested": [3, 2, 1], "b": None, "a": True},
        "float": 1.10,
        "big": 12345678901234567890,
        "text": 'Ünïcödé \u2603 "quoted" </script>',
        "empty": "",
    }

    block = block_append(data=data)

    stored = Block.objects.get(index=block.index)
    assert stored.data == json.dumps(data, sort_keys=True)
    assert stored.payload == data
    assert _independent_hash(stored) == stored.hash


@pytest.mark.django_db
@pytest.mark.postgres_only
def test_postgres_jsonb_would_have_changed_the_hashed_text() -> None:
    # Why data is a text column: jsonb reorders keys and re-spaces the text it returns.
    text = json.dumps({"type": "test", "aaa": 1, "b": 2}, sort_keys=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::jsonb::text", [text])
        assert cursor.fetchone()[0] != text

    block = block_append(data=json.loads(text))
    assert Block.objects.get(index=block.index).data == text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"n": 1}, '"type"'),
        ({"type": ""}, '"type"'),
        ({"type": "genesis"}, "genesis"),
        ({"type": "test", "when": timezone.now()}, "plain JSON"),
        ({"type": "test", "x": float("inf")}, "plain JSON"),
        ({"type": "test", "m": {10: "x", 9: "y"}}, "read back"),
        ({"type": "test", 1: "a"}, "plain JSON"),
        (["type", "test"], "JSON object"),
    ],
)
def test_it_refuses_data_that_cannot_be_a_block_and_writes_nothing(data, message) -> None:
    block_append(data={"type": "test"})
    before = ChainHead.objects.get().size

    with pytest.raises(LedgerError, match=message):
        block_append(data=data)

    assert Block.objects.count() == before
    assert ChainHead.objects.get().size == before


@pytest.mark.django_db
def test_a_block_rolls_back_with_the_callers_transaction() -> None:
    block_append(data={"type": "test"})

    with pytest.raises(RuntimeError), transaction.atomic():
        block_append(data={"type": "test", "n": "doomed"})
        raise RuntimeError("the domain change failed after its block was built")

    assert Block.objects.count() == 2
    assert ChainHead.objects.get().size == 2
    block_append(data={"type": "test", "n": "next"})
    assert chain_verify().valid


@pytest.mark.django_db
def test_blocks_appended_inside_a_callers_transaction_commit_with_it() -> None:
    with transaction.atomic():
        first = block_append(data={"type": "test", "n": 1})
        second = block_append(data={"type": "test", "n": 2})

    assert second.prev_hash == first.hash
    assert chain_verify().valid


@pytest.mark.django_db
def test_time_never_runs_backwards_when_a_servers_clock_lags(monkeypatch) -> None:
    first = block_append(data={"type": "test", "n": 1})
    lagging = timezone.now() - timedelta(minutes=5)
    monkeypatch.setattr(services.timezone, "now", lambda: lagging)

    second = block_append(data={"type": "test", "n": 2})

    assert second.timestamp == first.timestamp
    assert chain_verify().valid


@pytest.mark.django_db
def test_rotating_keys_keeps_old_blocks_valid(settings) -> None:
    settings.LEDGER_SIGNING_KEY_ID = "k1"
    settings.LEDGER_HMAC_KEYS = {"k1": "first secret"}
    block_append(data={"type": "test", "n": 1})

    settings.LEDGER_SIGNING_KEY_ID = "k2"
    settings.LEDGER_HMAC_KEYS = {"k2": "second secret", "k1": "first secret"}
    newest = block_append(data={"type": "test", "n": 2})

    assert newest.key_id == "k2"
    assert list(Block.objects.values_list("key_id", flat=True)) == ["k1", "k1", "k2"]
    assert chain_verify().valid

    settings.LEDGER_HMAC_KEYS = {"k2": "second secret"}  # k1 dropped too early
    report = chain_verify()
    assert {(p.index, p.code) for p in report.problems} == {(0, "unknown_key"), (1, "unknown_key")}


@pytest.mark.django_db
def test_append_many_writes_all_or_nothing() -> None:
    appended = block_append_many(items=(({"type": "test", "n": n}, "") for n in range(50)))

    assert appended == 50
    assert ChainHead.objects.get().size == 51
    assert chain_verify().valid

    with pytest.raises(LedgerError):
        block_append_many(items=[({"type": "test"}, ""), ({"type": "test", "bad": {1, 2}}, "")])
    assert ChainHead.objects.get().size == 51
    assert Block.objects.count() == 51


@pytest.mark.django_db
def test_it_refuses_to_fork_when_the_head_lags_the_blocks(tamper) -> None:
    block_append(data={"type": "test", "n": 1})
    last = block_append(data={"type": "test", "n": 2})
    tamper("UPDATE ledger_chainhead SET size = 2, hash = %s", [last.prev_hash])

    # The caller's transaction (here the test's savepoint) ends with the refusal.
    with pytest.raises(LedgerCorruptError, match="fork"), transaction.atomic():
        block_append(data={"type": "test", "n": 3})

    assert Block.objects.count() == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_a_lock_timeout_is_retried_inside_the_service() -> None:
    block_append(data={"type": "test", "n": 0})

    with chain_head_held(release_after=0.7):  # several attempts time out first
        started = time.monotonic()
        block = block_append(data={"type": "test", "n": 1})

    assert time.monotonic() - started >= 0.4  # it really waited out at least one timeout
    assert block.index == 2
    assert chain_verify().valid


@pytest.mark.django_db
def test_it_refuses_to_append_when_the_head_row_was_deleted_but_blocks_exist(tamper) -> None:
    block_append(data={"type": "test", "n": 1})
    tamper("DELETE FROM ledger_chainhead")

    with (
        pytest.raises(LedgerCorruptError, match="empty although blocks exist"),
        transaction.atomic(),
    ):
        block_append(data={"type": "test", "n": 2})

    assert Block.objects.count() == 2
    assert not ChainHead.objects.exists()  # the recreated row rolled back with the refusal


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        {"type": "test", "note": "a\x00b"},
        {"type": "test", "note": "half a pair \ud83d"},
        {"type": "test", "nested": [{"k\x00": 1}]},
    ],
)
def test_text_that_postgresql_cannot_store_is_refused_everywhere(data) -> None:
    before = Block.objects.count()

    with pytest.raises(LedgerError, match="NUL characters or unpaired surrogates"):
        block_append(data=data)

    assert Block.objects.count() == before
    block_append(data={"type": "test", "note": "a whole pair 😀"})  # fine
    assert chain_verify().valid
