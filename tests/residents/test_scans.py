"""The gate's rules, through the scan service and POST /api/scan. Refusals change no status;
those that say someone may not pass are recorded once as a denied block."""

import logging
import uuid

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from hostel.api import ERROR_STATUS
from ledger.models import Block
from ledger.verification import chain_verify
from residents import passes, scans, services
from residents.models import Gate, Resident, ScanRequest


@pytest.fixture
def no_debounce(settings) -> None:
    settings.SCAN_DEBOUNCE_SECONDS = 0


def token_of(resident: Resident) -> str:
    return passes.pass_token(resident.pk, resident.pass_version)


def scan(resident, guard, gate, **extra) -> scans.ScanOutcome:
    extra.setdefault("token", token_of(resident))
    return scans.scan_record(by=guard, gate=gate, mode=extra.pop("mode", "qr"), **extra)


class Unchanged:
    """Snapshot of everything a refusal must leave alone."""

    def __init__(self, resident: Resident) -> None:
        self.resident = resident
        self.state = self._state()

    def _state(self) -> tuple:
        self.resident.refresh_from_db()
        return (
            Block.objects.count(),
            ScanRequest.objects.count(),
            self.resident.status,
            self.resident.last_scan_at,
        )

    def check(self, *, denied: str = "") -> None:
        """Nothing changed, or only one block was added: the attempt denied with ``denied``."""
        blocks, requests, status, last_scan_at = self._state()
        assert (requests, status, last_scan_at) == self.state[1:]
        assert blocks == self.state[0] + (1 if denied else 0)
        if denied:
            event = Block.objects.latest("index").payload
            assert (event["type"], event["code"]) == ("denied", denied)


def refused(code: str, call) -> scans.ScanRefused:
    with pytest.raises(scans.ScanRefused) as caught:
        call()
    assert caught.value.code == code, caught.value
    return caught.value


def test_each_accepted_scan_toggles_and_writes_one_block(resident, guard, main_gate, no_debounce):
    first = scan(resident, guard, main_gate)
    second = scan(resident, guard, main_gate)

    resident.refresh_from_db()
    assert (first.block.payload["status"], second.block.payload["status"]) == ("IN", "OUT")
    assert resident.status == "OUT"
    assert first.block.payload == {
        "type": "scan",
        "resident_id": str(resident.pk),
        "resident_name": "Ada Okafor",
        "room": "B-214",
        "mode": "qr",
        "status": "IN",
        "gate": "main",
        "by": "gary",
        "first": True,  # the resident's first passage: nobody counted them inside before
    }
    assert "first" not in second.block.payload
    assert second.block.index == first.block.index + 1
    assert chain_verify().valid


def test_a_repeat_within_the_debounce_window_is_refused(resident, guard, main_gate) -> None:
    scan(resident, guard, main_gate)
    after_first = Unchanged(resident)

    refusal = refused("duplicate_scan", lambda: scan(resident, guard, main_gate))

    assert ERROR_STATUS[refusal.code] == 409 and "s ago" in str(refusal)
    after_first.check()


@pytest.mark.parametrize(
    ("mode", "start", "accepted", "refused_status"),
    [(Gate.Mode.ENTRY, "OUT", "IN", "IN"), (Gate.Mode.EXIT, "IN", "OUT", "OUT")],
)
def test_entry_and_exit_gates_refuse_anti_passback(
    resident, guard, no_debounce, mode, start, accepted, refused_status
) -> None:
    gate = Gate.objects.create(slug=f"{mode}-gate", name=f"{mode} gate", mode=mode)
    Resident.objects.filter(pk=resident.pk).update(status=start)

    assert scan(resident, guard, gate).block.payload["status"] == accepted
    state = Unchanged(resident)
    refusal = refused("anti_passback", lambda: scan(resident, guard, gate))

    assert ERROR_STATUS[refusal.code] == 409 and f"already {refused_status}" in str(refusal)
    state.check(denied="anti_passback")


@pytest.mark.parametrize(
    ("make_token", "code", "status"),
    [
        (lambda r: token_of(r)[:-6], "invalid_pass", 400),  # truncated
        (
            lambda r: token_of(r)[:-1] + ("A" if token_of(r)[-1] != "A" else "B"),
            "invalid_pass",
            400,
        ),
        (lambda r: f"{r.pk}.{r.pass_version}", "invalid_pass", 400),  # a bare id, unsigned
        (lambda r: "https://example.org/definitely-not-a-pass", "invalid_pass", 400),
        (lambda r: passes.pass_token(uuid.uuid4(), 1), "unknown_resident", 404),
    ],
    ids=["truncated", "forged", "bare-id", "garbage", "unknown-resident"],
)
def test_bad_passes_are_refused_and_recorded_as_denied(
    resident, guard, main_gate, make_token, code, status
):
    state = Unchanged(resident)

    refusal = refused(code, lambda: scan(resident, guard, main_gate, token=make_token(resident)))

    assert ERROR_STATUS[refusal.code] == status and str(refusal)
    state.check(denied=code)


def test_a_scan_without_a_pass_is_a_bad_request_and_records_nothing(resident, guard, main_gate):
    state = Unchanged(resident)

    refusal = refused("no_pass", lambda: scan(resident, guard, main_gate, token=" "))

    assert ERROR_STATUS[refusal.code] == 400 and "No pass was read" in str(refusal)
    state.check()


def test_a_replaced_pass_is_refused(resident, guard, warden, main_gate) -> None:
    old = token_of(resident)
    services.pass_reissue(resident=resident, by=warden)
    state = Unchanged(resident)

    refusal = refused("revoked_pass", lambda: scan(resident, guard, main_gate, token=old))

    assert ERROR_STATUS[refusal.code] == 403
    assert refusal.resident is not None and refusal.resident.pk == resident.pk
    state.check(denied="revoked_pass")
    resident.refresh_from_db()
    assert scan(resident, guard, main_gate).block.payload["status"] == "IN"  # the new one works


def test_a_moved_out_resident_is_refused(resident, guard, warden, main_gate) -> None:
    services.resident_deactivate(resident=resident, by=warden)
    state = Unchanged(resident)

    refusal = refused("inactive_resident", lambda: scan(resident, guard, main_gate))

    assert ERROR_STATUS[refusal.code] == 403 and "moved out" in str(refusal)
    state.check(denied="inactive_resident")


def test_a_moved_out_resident_with_an_old_pass_is_told_they_moved_out(
    resident, guard, warden, main_gate
) -> None:
    old = token_of(resident)
    services.pass_reissue(resident=resident, by=warden)
    services.resident_deactivate(resident=resident, by=warden)

    refusal = refused("inactive_resident", lambda: scan(resident, guard, main_gate, token=old))

    assert "moved out" in str(refusal)


def test_a_retry_after_the_pass_was_reissued_still_returns_the_first_result(
    resident, guard, warden, main_gate
) -> None:
    scan_id, old = uuid.uuid4(), token_of(resident)
    first = scan(resident, guard, main_gate, token=old, scan_id=scan_id)
    services.pass_reissue(resident=resident, by=warden)

    retried = scan(resident, guard, main_gate, token=old, scan_id=scan_id)

    assert retried.replayed and retried.block.index == first.block.index


def test_a_retried_scan_id_returns_the_first_result_and_never_toggles_twice(
    resident, guard, main_gate, no_debounce
) -> None:
    scan_id = uuid.uuid4()
    first = scan(resident, guard, main_gate, scan_id=scan_id)
    state = Unchanged(resident)

    retry = scan(resident, guard, main_gate, scan_id=scan_id)

    assert retry.replayed and not first.replayed
    assert retry.block.index == first.block.index
    state.check()
    assert resident.status == "IN"


def test_a_scan_id_cannot_be_reused_for_someone_else(resident, guard, warden, main_gate):
    other = services.resident_register(by=warden, name="Bo Lindqvist", room="A-101")
    scan_id = uuid.uuid4()
    scan(resident, guard, main_gate, scan_id=scan_id)

    refusal = refused("scan_id_reused", lambda: scan(other, guard, main_gate, scan_id=scan_id))

    assert ERROR_STATUS[refusal.code] == 409


def test_manual_mode_records_who_did_it(resident, guard, main_gate) -> None:
    outcome = scan(resident, guard, main_gate, mode="manual", token="", resident_id=resident.pk)

    assert outcome.block.payload["mode"] == "manual"
    assert outcome.block.payload["by"] == "gary"
    assert outcome.block.payload["status"] == "IN"


# --- Through the API -------------------------------------------------------------------------


@pytest.fixture
def guard_api(guard) -> APIClient:
    client = APIClient()
    client.force_authenticate(guard)
    return client


def test_the_api_returns_the_event_and_its_block(guard_api, resident) -> None:
    response = guard_api.post(
        "/api/scan",
        {"mode": "qr", "token": token_of(resident), "gate": "main", "scan_id": str(uuid.uuid4())},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    block = Block.objects.get(index=body["block"]["index"])
    assert body["event"]["status"] == "IN" and body["event"]["resident_name"] == "Ada Okafor"
    assert body["event"]["photo_url"].endswith(f"/api/residents/{resident.pk}/photo")
    assert (body["block"]["hash"], body["block"]["signature"]) == (block.hash, block.signature)
    assert body["replayed"] is False


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"mode": "qr", "token": "garbage"}, 400, "invalid_pass"),
        ({"mode": "qr", "token": "x", "gate": "back-door"}, 400, "unknown_gate"),
        ({"mode": "teleport"}, 400, "invalid"),
        ({"mode": "face"}, 400, "invalid_photo"),
        ({"mode": "voice"}, 400, "invalid_voice"),
        ({"mode": "manual", "resident_id": "not-a-uuid"}, 400, "invalid"),
        ({"mode": "manual", "resident_id": str(uuid.uuid4())}, 404, "unknown_resident"),
    ],
)
def test_api_refusals_have_a_code_and_a_message(guard_api, resident, payload, status, code):
    before = Block.objects.count()

    response = guard_api.post("/api/scan", payload, format="json")

    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    # A pass that is not ours was held up at the gate: a denied attempt. The others are bad
    # requests (a manual pick of nobody names no one at the gate).
    assert Block.objects.count() == before + (1 if code == "invalid_pass" else 0)


def test_a_revoked_pass_refusal_shows_who_it_was(guard_api, resident, warden) -> None:
    old = token_of(resident)
    services.pass_reissue(resident=resident, by=warden)

    response = guard_api.post("/api/scan", {"mode": "qr", "token": old}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["resident"]["name"] == "Ada Okafor"


def test_scanning_needs_the_record_scan_permission(resident, make_user) -> None:
    client = APIClient()
    nobody = make_user("visitor")
    assert client.post("/api/scan", {"mode": "qr"}, format="json").status_code == 401
    client.force_authenticate(nobody)
    assert (
        client.post(
            "/api/scan", {"mode": "qr", "token": token_of(resident)}, format="json"
        ).status_code
        == 403
    )
    assert not Block.objects.filter(type="scan").exists()


# --- The ledger's replay against stored status ------------------------------------------------


def test_verify_chain_reports_a_status_edited_behind_the_apps_back(
    resident, guard, main_gate, tamper
):
    scan(resident, guard, main_gate)  # IN
    call_command("verify_chain", "--quiet")
    tamper("UPDATE residents_resident SET status = 'OUT' WHERE id = %s", [resident.pk.hex])

    with pytest.raises(CommandError) as caught:
        call_command("verify_chain")

    assert caught.value.returncode == 1
    report = chain_verify()
    assert [p.code for p in report.problems] == ["resident_status"]
    assert "Ada Okafor" in report.problems[0].message and "say IN" in report.problems[0].message


def test_every_scan_decision_is_logged_with_its_code_and_request_id(
    resident, guard, main_gate, caplog
) -> None:
    client = APIClient(headers={"X-Request-ID": "gate-42"})
    client.force_authenticate(guard)
    body = {"mode": "qr", "token": token_of(resident)}

    with caplog.at_level(logging.INFO, logger="residents.scans"):
        client.post("/api/scan", body, format="json")
        client.post("/api/scan", body, format="json")  # a repeat: refused
        client.post("/api/scan", {"mode": "qr", "token": "garbage"}, format="json")

    decisions = [(r.code, r.request_id) for r in caplog.records if r.name == "residents.scans"]
    assert decisions == [
        ("recorded", "gate-42"),
        ("duplicate_scan", "gate-42"),
        ("invalid_pass", "gate-42"),
    ]


# --- Denied attempts -------------------------------------------------------------------------


def test_a_denied_block_names_the_attempt_but_never_the_token(resident, guard, warden, main_gate):
    old = token_of(resident)
    services.pass_reissue(resident=resident, by=warden)

    refused("revoked_pass", lambda: scan(resident, guard, main_gate, token=old))

    block = Block.objects.latest("index")
    assert block.subject == str(resident.pk)
    assert block.payload == {
        "type": "denied",
        "code": "revoked_pass",
        "reason": block.payload["reason"],
        "mode": "qr",
        "gate": "main",
        "by": "gary",
        "resident_id": str(resident.pk),
        "resident_name": "Ada Okafor",
        "room": "B-214",
    }
    assert "replaced" in block.payload["reason"]
    assert old not in block.data and old.split(":")[-1] not in block.data
    assert chain_verify().valid  # the status replay reads scans only


def test_a_forged_pass_is_denied_with_nobody_named(resident, guard, main_gate):
    forged = token_of(resident)[:-2] + "xx"

    refused("invalid_pass", lambda: scan(resident, guard, main_gate, token=forged))

    block = Block.objects.latest("index")
    assert block.type == "denied" and block.subject == ""
    assert "resident_id" not in block.payload and forged not in block.data


def test_repeats_are_not_denied_again(resident, guard, main_gate) -> None:
    """The debounce's repeat is no denial, and the same denial of the same resident at the
    same gate within the window is recorded once."""
    scan(resident, guard, main_gate)
    refused("duplicate_scan", lambda: scan(resident, guard, main_gate))
    assert not Block.objects.filter(type="denied").exists()

    Resident.objects.filter(pk=resident.pk).update(last_scan_at=None)  # the window has passed
    entry = Gate.objects.create(slug="front", name="Front", mode="entry")
    for _ in range(3):
        refused("anti_passback", lambda: scan(resident, guard, entry))
    assert Block.objects.filter(type="denied").count() == 1


def test_a_retried_denied_attempt_is_refused_again_and_recorded_once(resident, guard, main_gate):
    scan_id = uuid.uuid4()
    forged = token_of(resident)[:-2] + "xx"
    for _ in range(2):
        refused(
            "invalid_pass", lambda: scan(resident, guard, main_gate, token=forged, scan_id=scan_id)
        )

    entry, scan_id = Gate.objects.create(slug="front", name="Front", mode="entry"), uuid.uuid4()
    Resident.objects.filter(pk=resident.pk).update(status="IN")
    refused("anti_passback", lambda: scan(resident, guard, entry, scan_id=scan_id))
    # The retry arrives after the resident left: the same attempt is still the one denied.
    Resident.objects.filter(pk=resident.pk).update(status="OUT")
    retry = refused("anti_passback", lambda: scan(resident, guard, entry, scan_id=scan_id))

    assert retry.replayed and "already IN" in str(retry)
    assert Block.objects.filter(type="denied").count() == 2
    assert not Block.objects.filter(type="scan").exists()
