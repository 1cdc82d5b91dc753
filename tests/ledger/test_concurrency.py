"""Many writers at once: the head lock must serialise them into one unforked chain."""

import multiprocessing
import threading
import traceback

import pytest
from django.db import connection, connections

from ledger.models import Block, ChainHead
from ledger.services import block_append
from ledger.verification import chain_verify

pytestmark = pytest.mark.django_db(transaction=True)


def _append_many(worker: int, count: int) -> list[str]:
    errors = []
    for n in range(count):
        try:
            block_append(data={"type": "test", "worker": worker, "n": n})
        except Exception:  # the test reports whatever reached a caller
            errors.append(traceback.format_exc())
    return errors


def _assert_one_clean_chain(appended: int) -> None:
    indices = list(Block.objects.order_by("index").values_list("index", flat=True))
    assert indices == list(range(appended + 1))  # genesis + every append, no gaps
    assert ChainHead.objects.get().size == appended + 1
    report = chain_verify()
    assert report.valid, report.problems[:5]


def test_eight_threads_on_their_own_connections_append_without_forking() -> None:
    errors: list[str] = []
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        start.wait()
        try:
            errors.extend(_append_many(worker, 100))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    _assert_one_clean_chain(800)
    for worker in range(8):
        assert Block.objects.filter(data__endswith=f'"worker": {worker}}}').count() == 100


def _process_worker(worker: int, start, results) -> None:  # runs in a forked child
    start.wait()
    errors = _append_many(worker, 100)
    connections.close_all()
    results.put((worker, errors))


def test_four_processes_append_without_forking() -> None:
    connections.close_all()  # children must open their own connections, not share ours
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(4), context.Queue()
    processes = [
        context.Process(target=_process_worker, args=(n, start, results)) for n in range(4)
    ]
    for process in processes:
        process.start()
    outcomes = dict(results.get(timeout=300) for _ in processes)
    for process in processes:
        process.join(timeout=60)

    assert [process.exitcode for process in processes] == [0, 0, 0, 0]
    first_error = next((errors[0] for errors in outcomes.values() if errors), "")
    assert outcomes == {0: [], 1: [], 2: [], 3: []}, first_error
    _assert_one_clean_chain(400)
