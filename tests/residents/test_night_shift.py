"""What a warden and a guard ran into on a night shift (issue 10): no status before the first
scan, the curfew list with "out since", printed and exported; duplicate email addresses;
moving a resident back in; the ledger's resident and gate pickers; denied attempts on the
dashboard and in the ledger."""

import csv
import io
from datetime import datetime

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from ledger.models import Block
from ledger.verification import chain_verify
from residents import passes, scans, services
from residents.errors import ResidentError
from residents.models import Gate, Resident


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def qr(resident: Resident, guard, gate: Gate) -> scans.ScanOutcome:
    token = passes.pass_token(resident.pk, resident.pass_version)
    return scans.scan_record(by=guard, gate=gate, mode="qr", token=token)


@pytest.fixture
def no_debounce(settings) -> None:
    settings.SCAN_DEBOUNCE_SECONDS = 0


# --- Status before the first scan ------------------------------------------------------------


def test_a_first_scan_at_an_exit_only_gate_records_out(resident, guard) -> None:
    exit_gate = Gate.objects.create(slug="back", name="Back door", mode="exit")

    assert resident.status is None
    assert qr(resident, guard, exit_gate).block.payload["status"] == "OUT"


def test_staff_can_set_a_status_and_the_ledger_agrees(resident, warden, guard) -> None:
    client = logged_in(warden)
    page = client.get(f"/residents/{resident.pk}/").content.decode()
    assert "No scan yet" in page and "Never scanned." in page and "Mark as in" in page

    response = client.post(f"/residents/{resident.pk}/status", {"status": "IN"}, follow=True)

    resident.refresh_from_db()
    assert resident.status == "IN" and resident.status_changed_at is not None
    assert "Ada Okafor is now marked IN." in response.content.decode()
    event = Block.objects.latest("index").payload
    assert (event["type"], event["status"], event["by"]) == ("status", "IN", "wendy")
    assert chain_verify().valid  # the status replay reads staff's settings too
    again = client.post(f"/residents/{resident.pk}/status", {"status": "IN"}, follow=True)
    assert "already IN" in again.content.decode()
    nonsense = client.post(f"/residents/{resident.pk}/status", {"status": "MAYBE"}, follow=True)
    assert "A status is IN or OUT" in nonsense.content.decode()
    assert Block.objects.filter(type="status").count() == 1


def test_the_out_list_prints_and_exports_who_is_out_since_when(
    resident, warden, guard, main_gate, no_debounce
) -> None:
    never = services.resident_register(by=warden, name="Bo Lindqvist", room="A-101")
    qr(resident, guard, main_gate)
    left = qr(resident, guard, main_gate)

    page = logged_in(guard).get("/residents/out")
    html = page.content.decode()

    assert [r.name for r in page.context["page"]] == ["Ada Okafor"]
    assert never.name not in html and "data-print" in html
    assert "Export CSV" not in html  # guards may not export
    export = logged_in(warden).get("/residents/out?format=csv")
    body = b"".join(export.streaming_content)  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["name", "room", "phone", "emergency_contact", "out_since", "resident_id"]
    assert rows[1][:3] == ["Ada Okafor", "B-214", "'+234 801 234 5678"]  # defused for sheets
    resident.refresh_from_db()
    since = timezone.localtime(resident.status_changed_at)
    assert rows[1][4] == since.isoformat(timespec="seconds")
    exit_at = datetime.fromisoformat(left.block.timestamp)
    assert abs((since - exit_at).total_seconds()) < 1
    assert logged_in(guard).get("/residents/out?format=csv").status_code == 403


# --- Duplicates --------------------------------------------------------------------------------


def test_a_taken_email_is_refused_in_any_case(resident, warden) -> None:
    """Found: the same email twice (also in another case) was accepted."""
    before = (Resident.objects.count(), Block.objects.count())

    with pytest.raises(ResidentError) as caught:
        services.resident_register(by=warden, name="Ada Two", room="B-1", email="ADA@example.org")

    assert caught.value.code == "duplicate_email"
    assert (Resident.objects.count(), Block.objects.count()) == before
    other = services.resident_register(by=warden, name="Bo", room="B-1", email="bo@example.org")
    with pytest.raises(ResidentError):
        services.resident_update(resident=other, by=warden, email="Ada@Example.org")
    # Residents without an email are no duplicates of each other.
    services.resident_register(by=warden, name="Cy", room="C-1")
    services.resident_register(by=warden, name="Di", room="D-1")


def test_the_database_refuses_a_taken_email_too(resident) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Resident.objects.create(name="Copy", room="X-1", email="ADA@EXAMPLE.ORG")


def test_the_form_and_the_api_say_the_email_is_taken(resident, warden) -> None:
    form = logged_in(warden).post(
        "/residents/new", {"name": "Ada Two", "room": "B-1", "email": "Ada@example.org"}
    )
    api = logged_in(warden).post(
        "/api/register",
        {"name": "Ada Two", "room": "B-1", "email": "ada@EXAMPLE.org"},
        content_type="application/json",
    )

    assert form.status_code == 200
    assert form.context["form"].errors["email"] == [
        "Another resident already has this email address."
    ]
    assert api.status_code == 409 and api.json()["error"]["code"] == "duplicate_email"
    assert Resident.objects.count() == 1


def test_the_form_warns_of_an_active_residents_face_and_registers_once_confirmed(
    resident, warden
) -> None:
    """Found: the same face as an active resident was accepted silently. The warden sees
    who it looks like, with their photo, and may confirm without choosing the photo again."""
    from tests.residents.conftest import photo_bytes, upload

    client = logged_in(warden)
    first = client.post(
        "/residents/new",
        {"name": "Ada Double", "room": "B-2", "photo_upload": upload("a.jpg", photo_bytes())},
    )
    html = first.content.decode()

    assert first.status_code == 200 and Resident.objects.count() == 1
    assert (
        "Looks like" in html and "Ada Okafor" in html and f"/residents/{resident.pk}/photo" in html
    )
    kept = first.context["form"]["photo_kept"].value()
    assert kept

    confirmed = client.post(
        "/residents/new",
        {"name": "Ada Double", "room": "B-2", "photo_kept": kept, "same_face_confirmed": "on"},
    )

    assert confirmed.status_code == 302, confirmed.context["form"].errors
    double = Resident.objects.get(name="Ada Double")
    assert double.photo and double.face_embedding is not None


# --- Moving back in ----------------------------------------------------------------------------


def test_a_moved_out_resident_can_move_back_in_with_a_new_pass(
    resident, warden, guard, main_gate
) -> None:
    """Found: a moved-out resident could not be moved back in."""
    old = passes.pass_token(resident.pk, resident.pass_version)
    services.resident_deactivate(resident=resident, by=warden)
    page = logged_in(warden).get(f"/residents/{resident.pk}/").content.decode()
    assert "Move back in" in page

    response = logged_in(warden).post(f"/residents/{resident.pk}/move-back-in", follow=True)

    resident.refresh_from_db()
    assert resident.is_active and resident.moved_out_on is None and resident.pass_version == 2
    assert "moved back in" in response.content.decode()
    event = Block.objects.latest("index").payload
    assert (event["type"], event["pass_version"], event["by"]) == ("reactivate", 2, "wendy")
    with pytest.raises(scans.ScanRefused) as caught:
        scans.scan_record(by=guard, gate=main_gate, mode="qr", token=old)
    assert caught.value.code == "revoked_pass"
    assert qr(resident, guard, main_gate).block.payload["status"] == "IN"
    again = logged_in(warden).post(f"/residents/{resident.pk}/move-back-in", follow=True)
    assert "already lives here" in again.content.decode()


# --- The ledger's pickers and denied attempts --------------------------------------------------


def test_the_ledger_finds_the_resident_by_name_and_lists_the_gates(
    resident, warden, guard, main_gate
) -> None:
    """Found: the ledger's filters wanted raw ids."""
    services.resident_register(by=warden, name="Adam Smith", room="A-1")
    Gate.objects.create(slug="back", name="Back door", mode="exit", is_active=False)
    client = logged_in(guard)

    by_name = client.get("/ledger/?resident=Okafor")
    several = client.get("/ledger/?resident=Ada&type=register")
    nobody = client.get("/ledger/?resident=Zebedee")

    assert {b.subject for b in by_name.context["page"]} == {str(resident.pk)}
    html = several.content.decode()
    assert "Several residents match “Ada”" in html
    assert f"resident={resident.pk}" in html and "Adam Smith (A-1)" in html
    assert "type=register" in html.split("Adam Smith")[0].rsplit("<a", 1)[1]
    assert "No resident matches “Zebedee”" in nobody.content.decode()
    gate_options = by_name.context["filters"].fields["gate"].choices
    assert ("main", "Main gate") in gate_options and ("back", "Back door (closed)") in gate_options


def test_denied_attempts_show_on_the_dashboard_and_filter_in_the_ledger(
    resident, warden, guard, main_gate
) -> None:
    """Found: refused attempts left no trace."""
    with pytest.raises(scans.ScanRefused):
        scans.scan_record(by=guard, gate=main_gate, mode="qr", token="https://example.org/x")
    services.resident_deactivate(resident=resident, by=warden)
    with pytest.raises(scans.ScanRefused):
        qr(resident, guard, main_gate)
    client = logged_in(warden)

    dashboard = client.get("/").content.decode()
    denied = client.get("/ledger/?type=denied").context["page"]
    moved_out = client.get("/ledger/?type=denied&code=inactive_resident").context["page"]

    section = dashboard.split('id="denied"')[1]
    assert "Denied attempts" in section and "Ada Okafor has moved out" in section
    assert "This QR code is not a hostel pass." in section and "unknown" in section
    assert [b.payload["code"] for b in denied] == ["inactive_resident", "invalid_pass"]
    assert [b.subject for b in moved_out] == [str(resident.pk)]


# --- The default gate ----------------------------------------------------------------------------


def test_a_new_gate_never_becomes_the_api_default(resident, guard, superuser) -> None:
    """Found: adding a gate silently changed a device's default (the alphabetically first)."""
    Gate.objects.create(slug="annex", name="Annex entrance", mode="entry")
    api = logged_in(guard)
    token = passes.pass_token(resident.pk, resident.pass_version)

    recorded = api.post(
        "/api/scan", {"mode": "qr", "token": token}, content_type="application/json"
    )

    assert recorded.status_code == 201, recorded.content
    assert recorded.json()["event"]["gate"] == "main"  # marked as the default, not "annex"
    Gate.objects.filter(slug="main").update(is_default=False)
    unnamed = api.post("/api/scan", {"mode": "qr", "token": token}, content_type="application/json")
    assert unnamed.status_code == 400 and unnamed.json()["error"]["code"] == "unknown_gate"
    assert "no active gate is marked as the default" in unnamed.json()["error"]["message"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Gate.objects.filter(slug__in=["main", "annex"]).update(is_default=True)
