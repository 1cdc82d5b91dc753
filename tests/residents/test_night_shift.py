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
from residents import biometric_scans, passes, scans, services
from residents.errors import ResidentError
from residents.models import Gate, Resident, ScanRequest


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

    assert [r.name for r in page.context["out"]] == ["Ada Okafor"]
    assert never.name not in html and "data-print" in html
    assert "Export CSV" not in html  # guards may not export
    export = logged_in(warden).get("/residents/out?format=csv")
    body = b"".join(export.streaming_content)  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["name", "room", "phone", "emergency_contact", "out_since", "resident_id"]
    # A validated phone number cannot hold a formula: kept as it is, for the warden to call.
    assert rows[1][:3] == ["Ada Okafor", "B-214", "+234 801 234 5678"]
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


# --- Found by trying it and by review ----------------------------------------------------------


def test_the_dashboards_refresh_brings_the_curfew_card_and_who_is_in(
    resident, guard, main_gate, settings
) -> None:
    """Found: after a live refresh the counts said 4 out while the curfew card said 3."""
    settings.CURFEW = "00:00" if timezone.localtime().hour < 6 else "06:00"
    qr(resident, guard, main_gate)

    live = logged_in(guard).get("/dashboard/latest").content.decode()

    assert 'id="curfew"' in live and "In now" in live and "Ada Okafor" in live


def test_a_form_that_comes_back_keeps_the_voice_sample_too(warden) -> None:
    """Found: a voice sample was dropped without a word when the form had an error."""
    from tests.residents.conftest import speech_wav, upload

    client = logged_in(warden)
    first = client.post(
        "/residents/new",
        {"name": "Chen Wei", "room": "", "voice_upload": upload("v.wav", speech_wav())},
    )
    kept = first.context["form"]["voice_kept"].value()
    assert kept and "The recordings you chose are kept" in first.content.decode()

    second = client.post("/residents/new", {"name": "Chen Wei", "room": "C-3", "voice_kept": kept})

    assert second.status_code == 302
    assert Resident.objects.get(name="Chen Wei").voice_sample


def test_bad_filters_are_named_on_both_lists(warden) -> None:
    """Found: the ledger called a bad date "None", and the residents page listed everyone
    without a word when a filter could not apply."""
    client = logged_in(warden)

    ledger = client.get("/ledger/?since=2026-13-45").content.decode()
    residents = client.get("/residents/?floor=abc&q=" + "x" * 101).content.decode()

    assert "From: Enter a valid date." in ledger and "None:" not in ledger
    assert "Not applied, so not filtered by:" in residents
    assert "Floor: Enter a whole number." in residents and "Search: Ensure" in residents


@pytest.mark.parametrize(
    ("field", "value"), [("token", 123), ("scan_id", 12), ("resident_id", 7), ("gate", 5)]
)
def test_the_scan_api_refuses_numbers_where_it_wants_text(
    resident, guard, main_gate, field, value
) -> None:
    """Found: {"token": 123} was read as "123" and recorded as a denied attempt, and a
    scan_id of 12 passed as a UUID."""
    body = {"mode": "qr", "token": passes.pass_token(resident.pk, 1), field: value}
    if field == "resident_id":
        body = {"mode": "manual", "resident_id": value}
    before = Block.objects.count()

    answer = logged_in(guard).post("/api/scan", body, content_type="application/json")

    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["fields"][field] == ["Must be text (a JSON string)."]
    assert Block.objects.count() == before


def test_a_moved_out_resident_shows_moved_out_not_in_and_comes_back_without_a_status(
    resident, warden, guard, main_gate
) -> None:
    """Found: a moved-out resident kept a big green In, and moving back in brought it back."""
    qr(resident, guard, main_gate)
    services.resident_deactivate(resident=resident, by=warden)

    page = logged_in(warden).get(f"/residents/{resident.pk}/").content.decode()
    assert f"Moved out {timezone.localdate():%Y-%m-%d}" in page and ">In<" not in page

    services.resident_reactivate(resident=resident, by=warden)
    resident.refresh_from_db()
    assert resident.status is None and resident.status_changed_at is None
    assert chain_verify().valid  # the replay clears the status at a move back in too


def test_impossible_dates_are_refused(resident, warden) -> None:
    """Found: a move-out in 1900 and a move-in in 9999 were accepted."""
    from datetime import date, timedelta

    with pytest.raises(ResidentError, match="in the future"):
        services.resident_deactivate(
            resident=resident, by=warden, moved_out_on=timezone.localdate() + timedelta(days=1)
        )
    with pytest.raises(ResidentError, match="cannot have moved out before"):
        services.resident_deactivate(resident=resident, by=warden, moved_out_on=date(1900, 1, 1))
    form = logged_in(warden).post(
        "/residents/new", {"name": "Future", "room": "F-1", "move_in_date": "9999-12-31"}
    )
    assert "Enter a move-in date between 1900-01-01" in form.content.decode()
    assert not Resident.objects.filter(name="Future").exists()


def test_recent_event_lists_date_an_event_from_another_day() -> None:
    """Found: the dashboard's latest lists showed only a time, so yesterday read as today."""
    from ledger.templatetags.ledger_time import local_time

    now = timezone.now()
    assert local_time(now.isoformat(), "clock") == timezone.localtime(now).strftime("%H:%M:%S %Z")
    assert local_time("2020-01-02T03:04:05+00:00", "clock").startswith("2020-01-0")


def test_a_nameless_denial_is_recorded_once_per_guard_and_gate(resident, guard, warden, main_gate):
    """Review: a foreign QR code held in view wrote a denied block at every Scan next."""
    for _ in range(3):
        with pytest.raises(scans.ScanRefused):
            scans.scan_record(by=guard, gate=main_gate, mode="qr", token="https://example.org/m")
    with pytest.raises(scans.ScanRefused):
        scans.scan_record(by=warden, gate=main_gate, mode="qr", token="https://example.org/m")

    assert [b.payload["by"] for b in Block.objects.filter(type="denied")] == ["gary", "wendy"]


def test_an_active_residents_face_is_matched_before_a_moved_out_one(warden, guard, main_gate):
    """Review: a moved-out record of the same face stood in an active resident's way."""
    from tests.residents.test_faces import enrol, image

    old = enrol(warden, "Barack", "obama_640x480.jpg")
    services.resident_deactivate(resident=old, by=warden)
    with pytest.raises(ResidentError, match=r"moved out on .*use Move back in"):
        enrol(warden, "Barack Again", "obama_640x480.jpg")
    new = enrol(warden, "Barack Again", "obama_640x480.jpg", same_face_confirmed=True)

    found = biometric_scans.face_scan_record(by=guard, gate=main_gate, image=image("obama_2.jpg"))

    assert found.resident == new


def test_the_admin_asks_about_a_duplicate_face_instead_of_failing(resident, superuser) -> None:
    """Review: the admin answered 500 to a photo of an active resident's face."""
    from tests.residents.conftest import photo_bytes, upload

    page = logged_in(superuser).post(
        "/admin/residents/resident/add/",
        {"name": "Ada Double", "room": "B-9", "photo_upload": upload("a.jpg", photo_bytes())},
    )

    assert page.status_code == 200
    assert "looks like Ada Okafor" in page.content.decode()
    assert not Resident.objects.filter(name="Ada Double").exists()


def test_going_back_before_0011_forgets_the_scan_ids_of_denials(resident, guard, main_gate):
    """Review: migrating back to 0010 failed on a denied attempt's scan id naming nobody."""
    import importlib
    import uuid

    from django.apps import apps

    with pytest.raises(scans.ScanRefused):
        scans.scan_record(
            by=guard, gate=main_gate, mode="qr", token="not-a-pass", scan_id=uuid.uuid4()
        )
    assert ScanRequest.objects.filter(resident__isnull=True).count() == 1
    migration = importlib.import_module(
        "residents.migrations.0011_status_unknown_email_unique_default_gate"
    )

    migration.forget_denied_scan_ids(apps, None)

    assert not ScanRequest.objects.filter(resident__isnull=True).exists()
    assert Block.objects.filter(type="denied").count() == 1  # the ledger keeps the attempt
