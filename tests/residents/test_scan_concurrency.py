"""Gates scanning at the same instant, on real connections (PostgreSQL; SQLite serialises)."""

import threading
import uuid

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from rest_framework.test import APIClient

from ledger.models import Block
from ledger.verification import chain_verify
from residents import checks, passes, scans, services
from residents.models import Gate, Resident, ScanRequest
from tests.conftest import chain_head_held

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


def run_together(jobs) -> list:
    """Start every job at the same barrier on its own thread and connection; collect results."""
    start = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(i, job) -> None:
        start.wait()
        try:
            results[i] = job()
        except Exception as exc:  # the test inspects what reached the caller
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def staff(migration_data):
    guard = User.objects.create_user("gary")
    warden = User.objects.create_user("wendy")
    return guard, warden


def test_one_resident_at_two_gates_at_once_is_recorded_once(staff) -> None:
    guard, warden = staff
    ada = services.resident_register(by=warden, name="Ada Okafor", room="B-214")
    back = Gate.objects.create(slug="back", name="Back door")
    gates = [Gate.objects.get(slug="main"), back]
    token = passes.pass_token(ada.pk, 1)

    results = run_together(
        [lambda g=g: scans.scan_record(by=guard, gate=g, mode="qr", token=token) for g in gates]
    )

    accepted = [r for r in results if isinstance(r, scans.ScanOutcome)]
    refusals = [r for r in results if isinstance(r, scans.ScanRefused)]
    assert len(accepted) == 1 and len(refusals) == 1, results
    assert refusals[0].code == "duplicate_scan"
    assert Block.objects.filter(type="scan").count() == 1
    ada.refresh_from_db()
    assert ada.status == "IN"
    assert chain_verify().valid


def test_fifty_residents_scanned_at_once_give_fifty_blocks_and_a_consistent_replay(staff):
    guard, warden = staff
    residents = [
        services.resident_register(by=warden, name=f"Resident {n:02}", room=f"R-{n:02}")
        for n in range(50)
    ]
    gate = Gate.objects.get(slug="main")
    jobs = [
        lambda r=r: scans.scan_record(
            by=guard, gate=gate, mode="qr", token=passes.pass_token(r.pk, 1)
        )
        for r in residents
    ]

    results = run_together(jobs)

    assert all(isinstance(r, scans.ScanOutcome) for r in results), results
    assert Block.objects.filter(type="scan").count() == 50
    assert set(Resident.objects.values_list("status", flat=True)) == {"IN"}
    assert checks.status_disagreements() == ([], 0)
    assert chain_verify().valid


def test_a_scan_that_outwaits_the_lock_timeout_records_nothing(staff) -> None:
    guard, warden = staff
    ada = services.resident_register(by=warden, name="Ada Okafor", room="B-214")
    guard.groups.add(Group.objects.get(name="guards"))
    api = APIClient()
    api.force_authenticate(guard)
    body = {"mode": "qr", "token": passes.pass_token(ada.pk, 1), "scan_id": str(uuid.uuid4())}

    with chain_head_held():
        answer = api.post("/api/scan", body, format="json")

    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "ledger_busy"
    ada.refresh_from_db()
    assert ada.status is None and ada.last_scan_at is None
    assert not ScanRequest.objects.exists()
    # The same scan id goes through once the ledger is free.
    assert api.post("/api/scan", body, format="json").status_code == 201
    assert chain_verify().valid


def test_a_registration_that_outwaits_the_lock_timeout_is_a_503_page(staff, client) -> None:
    _, warden = staff
    warden.groups.add(Group.objects.get(name="wardens"))
    client.raise_request_exception = False  # as in production: the handler answers
    client.force_login(warden)

    with chain_head_held():
        page = client.post("/residents/new", {"name": "Ada Okafor", "room": "B-214"})

    assert page.status_code == 503
    assert page["Retry-After"] == "10"
    assert "try again" in page.content.decode().lower()
    assert not Resident.objects.exists()
    assert Block.objects.count() == 0
