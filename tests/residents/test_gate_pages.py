"""The dashboard, the ledger pages, the CSV export and the read APIs of the gate."""

import csv
import io
import uuid
from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from ledger.models import Block, VerificationRun
from residents import passes, scan_selectors, scans, services
from residents.models import Gate


@pytest.fixture
def scanned(resident, guard, warden, settings):
    """Ada scanned IN; Bo registered, never scanned; a scan of 'Eve' with a formula name."""
    settings.SCAN_DEBOUNCE_SECONDS = 0
    gate = Gate.objects.get(slug="main")
    bo = services.resident_register(by=warden, name="Bo Lindqvist", room="A-101")
    eve = services.resident_register(by=warden, name='=HYPERLINK("http://x")', room="E-1")
    for person in (resident, eve):
        scans.scan_record(by=guard, gate=gate, mode="qr", token=passes.pass_token(person.pk, 1))
    return {"ada": resident, "bo": bo, "eve": eve}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_dashboard_shows_who_is_in_and_the_latest_scans(scanned, guard, settings):
    settings.CURFEW = ""
    page = logged_in(guard).get("/")
    html = page.content.decode()

    assert page.context["occupancy"] == {"total": 3, "inside": 2, "outside": 0, "unknown": 1}
    assert "1</span><span>not yet scanned" in html
    assert [r.name for r in page.context["inside"]] == ['=HYPERLINK("http://x")', "Ada Okafor"]
    assert "Latest scans" in html and "Ada Okafor" in html
    assert "Today: 2 entries, 0 exits" in html
    assert page.context["after_curfew"] is None


def test_the_dashboard_lists_residents_out_after_curfew(scanned, guard, settings):
    # A curfew already past whatever the time of day (the night ends at 06:00).
    clock = timezone.localtime()
    if clock.time() < time(6):
        settings.CURFEW = "00:00"
    else:
        past = max(clock - timedelta(minutes=1), clock.replace(hour=6, minute=0))
        settings.CURFEW = past.strftime("%H:%M")

    page = logged_in(guard).get("/")

    # Found: Bo, registered and never scanned, was counted "out after curfew". Only Ada,
    # whose last scan was an exit, is out, since then.
    assert [r.name for r in page.context["after_curfew"]] == []
    assert "Nobody who came in is out." in page.content.decode()
    ada = scanned["ada"]
    left = scans.scan_record(
        by=guard, gate=Gate.objects.get(slug="main"), mode="manual", resident_id=ada.pk
    )
    assert left.block.payload["status"] == "OUT"
    page = logged_in(guard).get("/")
    assert [r.name for r in page.context["after_curfew"]] == ["Ada Okafor"]
    html = page.content.decode()
    assert f"Out after the {settings.CURFEW} curfew (1)" in html
    since = timezone.localtime(datetime.fromisoformat(left.block.timestamp))
    assert "out since " + since.strftime("%Y-%m-%d %H:%M:%S") in html


def test_the_admin_filters_blocks_by_event_type_and_scan_mode(scanned, guard, superuser):
    ada = scanned["ada"]
    gate = Gate.objects.get(slug="main")
    scans.scan_record(by=guard, gate=gate, mode="manual", resident_id=ada.pk)
    admin = logged_in(superuser)

    manual = admin.get("/admin/ledger/block/?mode=manual")
    qr = admin.get("/admin/ledger/block/?mode=qr")
    registrations = admin.get("/admin/ledger/block/?type=register")

    assert [b.payload["mode"] for b in manual.context["cl"].result_list] == ["manual"]
    assert len(qr.context["cl"].result_list) == 2
    assert {b.type for b in registrations.context["cl"].result_list} == {"register"}
    html = manual.content.decode()
    assert "By mode" in html and "Voice" in html and "By event" in html


def test_the_live_part_refreshes_from_its_own_url(scanned, guard):
    live = logged_in(guard).get("/dashboard/latest")

    assert live.status_code == 200
    assert "Ada Okafor" in live.content.decode() and "<html" not in live.content.decode()


def test_the_ledger_page_filters_and_links_each_block(scanned, guard):
    client = logged_in(guard)
    ada = scanned["ada"]

    everything = client.get("/ledger/").context["page"].paginator.count
    scans = client.get("/ledger/?type=scan").context["page"]
    adas = client.get(f"/ledger/?resident={ada.pk}").context["page"]
    manual = client.get("/ledger/?mode=manual").context["page"]
    at_main = client.get("/ledger/?gate=main").context["page"]
    future = client.get("/ledger/?since=2999-01-01").context["page"]

    assert everything == Block.objects.count() == 6  # genesis, 3 registrations, 2 scans
    assert scans.paginator.count == 2 and at_main.paginator.count == 2
    assert [b.type for b in adas] == ["scan", "register"]  # newest first
    assert manual.paginator.count == 0 and future.paginator.count == 0
    block = Block.objects.get(type="scan", subject=str(ada.pk))
    detail = client.get(f"/ledger/{block.index}").content.decode()
    assert block.hash in detail and block.signature in detail


def test_the_csv_export_streams_filtered_events_and_defuses_formulas(scanned, warden, guard):
    response = logged_in(warden).get("/ledger/export.csv?type=scan")

    assert response.streaming
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0][:4] == ["index", "timestamp", "type", "resident_id"]
    assert [row[4] for row in rows[1:]] == ['\'=HYPERLINK("http://x")', "Ada Okafor"]
    assert {row[7] for row in rows[1:]} == {"IN"}
    assert logged_in(guard).get("/ledger/export.csv").status_code == 403


def test_wardens_verify_from_the_site_and_the_result_is_kept(scanned, warden, guard):
    response = logged_in(warden).post("/ledger/verify", {"next": "/"}, follow=True)

    run = VerificationRun.objects.get()
    assert run.valid and run.blocks == 6 and run.by == "wendy" and run.trigger == "site"
    assert "The ledger is valid: 6 blocks checked." in response.content.decode()
    assert "Last verified" in logged_in(guard).get("/").content.decode()
    assert logged_in(guard).post("/ledger/verify").status_code == 403
    unsafe = logged_in(warden).post("/ledger/verify", {"next": "https://evil.example/"})
    assert unsafe["Location"] == "/ledger/"


def test_the_scan_page_offers_the_active_gates(guard, make_user) -> None:
    Gate.objects.create(slug="back", name="Back door", mode=Gate.Mode.EXIT)
    Gate.objects.create(slug="old", name="Old gate", is_active=False)

    page = logged_in(guard).get("/scan/")

    assert [g.slug for g in page.context["gates"]] == ["back", "main"]
    assert "vendor/jsqr/jsQR.js" in page.content.decode()
    assert logged_in(make_user("visitor")).get("/scan/").status_code == 403


def test_the_verify_api_reads_the_last_run_and_wardens_start_a_new_one(scanned, guard, warden):
    guards, wardens = APIClient(), APIClient()
    guards.force_authenticate(guard)
    wardens.force_authenticate(warden)

    never = guards.get("/api/ledger/verify")
    assert never.status_code == 404 and "POST" in never.json()["error"]["message"]
    assert guards.post("/api/ledger/verify").status_code == 403  # guards only read
    started = wardens.post("/api/ledger/verify")
    read = guards.get("/api/ledger/verify")

    assert started.status_code == 201 and read.status_code == 200
    assert read.json() == started.json()
    assert read.json()["valid"] is True and read.json()["blocks"] == 6
    assert read.json()["trigger"] == "api" and read.json()["by"] == warden.username
    assert VerificationRun.objects.count() == 1  # reading ran nothing


def test_starting_verifications_is_throttled(scanned, warden, monkeypatch):
    rates = {**ScopedRateThrottle.THROTTLE_RATES, "verify": "2/hour"}
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)  # read at import
    wardens = APIClient()
    wardens.force_authenticate(warden)

    answers = [wardens.post("/api/ledger/verify") for _ in range(3)]

    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[-1]["Retry-After"] and VerificationRun.objects.count() == 2
    assert wardens.get("/api/ledger/verify").status_code == 200  # reading is not throttled


def test_the_read_apis_for_ledger_occupancy_and_verification(scanned, guard):
    api = APIClient()
    api.force_authenticate(guard)

    ledger = api.get("/api/ledger", {"type": "scan", "page_size": "1"}).json()
    occupancy = api.get("/api/occupancy/").json()

    assert ledger["count"] == 2 and len(ledger["results"]) == 1
    newest = ledger["results"][0]
    assert newest["data"]["type"] == "scan" and len(newest["hash"]) == 64
    assert occupancy["inside"] == 2
    assert {r["name"] for r in occupancy["residents_in"]} == {
        "Ada Okafor",
        '=HYPERLINK("http://x")',
    }
    assert api.get("/api/ledger", {"type": "nonsense"}).status_code == 400
    assert api.get("/api/ledger", {"resident": str(uuid.uuid4())}).json()["count"] == 0


@pytest.mark.parametrize(
    ("curfew", "clock", "listed"),
    [
        ("23:00", "22:59", False),
        ("23:00", "23:30", True),
        ("23:00", "05:59", True),
        ("23:00", "06:00", False),
        ("00:30", "23:50", False),
        ("00:30", "01:00", True),
    ],
)
def test_the_curfew_list_follows_the_night_even_after_midnight(settings, db, curfew, clock, listed):
    from datetime import datetime

    from django.utils import timezone

    settings.CURFEW = curfew
    hour, minute = map(int, clock.split(":"))
    moment = timezone.make_aware(datetime(2026, 11, 24, hour, minute))

    assert (scan_selectors.residents_out_after_curfew(moment) is not None) == listed


def test_the_verify_button_does_not_run_twice_within_a_minute(scanned, warden):
    client = logged_in(warden)

    client.post("/ledger/verify")
    again = client.post("/ledger/verify", follow=True)

    assert VerificationRun.objects.count() == 1
    assert "less than a minute ago" in again.content.decode()
