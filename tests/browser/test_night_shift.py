"""A warden's night shift in Chromium, at a phone's and a desktop's size (issue 10): denied
attempts on the dashboard, the curfew list with "out since" to print, a resident who never
came in, a photo of someone who already lives here, moving a resident back in, and the
ledger's resident and gate pickers."""

import re
from datetime import time, timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, Dialog, Page, ViewportSize, expect

from residents import passes, scans, services, uploads
from residents.models import Gate, Resident
from tests.browser.conftest import DESKTOP, PHONE, loaded_widths, new_page, screenshot, staff_user
from tests.browser.test_residents import log_in
from tests.residents.conftest import FIXTURES, photo_bytes

pytestmark = pytest.mark.django_db(transaction=True)
SIZES = pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])


@pytest.fixture
def shift(migration_data, settings) -> dict[str, object]:
    """Ada went out and came back (out now), Bo never scanned, Cy moved out and tried the gate,
    and someone held up a QR code that is not a pass."""
    settings.SCAN_DEBOUNCE_SECONDS = 0
    warden = staff_user("wendy", "wardens")
    guard = staff_user("gary", "guards")
    gate = Gate.objects.get(slug="main")
    ada = services.resident_register(
        by=warden, name="Ada Okafor", room="B-214", photos=[uploads.photo_enrol(photo_bytes())]
    )
    bo = services.resident_register(by=warden, name="Bo Lindqvist", room="A-101")
    cy = services.resident_register(by=warden, name="Cy Moreau", room="C-3")
    for _ in range(2):
        scans.scan_record(by=guard, gate=gate, mode="manual", resident_id=ada.pk)
    services.resident_deactivate(resident=cy, by=warden)
    for token in (passes.pass_token(cy.pk, cy.pass_version), "https://example.org/menu"):
        with pytest.raises(scans.ScanRefused):
            scans.scan_record(by=guard, gate=gate, mode="qr", token=token)
    return {"warden": warden, "ada": ada, "bo": bo, "cy": cy}


def curfew_passed(settings) -> None:
    clock = timezone.localtime()
    if clock.time() < time(6):
        settings.CURFEW = "00:00"
    else:
        settings.CURFEW = max(clock - timedelta(minutes=1), clock.replace(hour=6, minute=0))
        settings.CURFEW = settings.CURFEW.strftime("%H:%M")


def open_as_warden(browser: Browser, live_server, size: ViewportSize) -> Page:
    page = new_page(browser, live_server.url, size)
    log_in(page, "wendy")
    return page


def no_sideways_scroll(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@SIZES
def test_the_dashboard_shows_denied_attempts_and_who_is_out_since_when(
    browser: Browser, live_server, shift, settings, size
):
    curfew_passed(settings)
    page = open_as_warden(browser, live_server, size)
    name = "phone" if size == PHONE else "desktop"

    curfew = page.locator("#curfew")
    expect(curfew).to_contain_text("Out after the")
    expect(curfew).to_contain_text("Ada Okafor")
    expect(curfew).to_contain_text("out since")
    expect(curfew).not_to_contain_text("Bo Lindqvist")  # never scanned: not out
    expect(page.get_by_text("not yet scanned")).to_be_visible()
    denied = page.locator("#denied")
    expect(denied).to_contain_text("Cy Moreau has moved out")
    expect(denied).to_contain_text("This QR code is not a hostel pass.")
    denied.scroll_into_view_if_needed()
    assert no_sideways_scroll(page)
    screenshot(page, f"night-dashboard-{name}")

    page.get_by_role("link", name="Every denied attempt in the ledger").click()
    expect(page.locator("table.ledger tbody tr")).to_have_count(2)
    expect(page.locator("table.ledger")).to_contain_text("inactive_resident")

    page.goto("/")
    page.get_by_role("link", name="Print or export this list").click()
    expect(page.get_by_role("heading", name=re.compile("Out after the"))).to_be_visible()
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    expect(page.get_by_role("link", name="Export CSV")).to_be_visible()
    expect(page.locator("table.out-list")).to_contain_text("Ada Okafor")
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    screenshot(page, f"night-out-list-print-{name}")


@SIZES
def test_a_warden_moves_a_resident_back_in_and_marks_a_new_one_in(
    browser: Browser, live_server, shift, size
):
    page = open_as_warden(browser, live_server, size)
    name = "phone" if size == PHONE else "desktop"
    cy, bo = shift["cy"], shift["bo"]
    assert isinstance(cy, Resident) and isinstance(bo, Resident)

    page.goto(f"/residents/{cy.pk}/")
    page.get_by_role("button", name="Move back in").click()
    expect(page.get_by_text("Cy Moreau moved back in")).to_be_visible()
    expect(page.get_by_role("link", name="Pass", exact=True)).to_be_visible()
    assert no_sideways_scroll(page)
    screenshot(page, f"night-moved-back-in-{name}")

    page.goto(f"/residents/{bo.pk}/")
    expect(page.get_by_text("No scan yet")).to_be_visible()
    questions: list[str] = []

    def answer_yes(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer_yes)
    page.get_by_role("button", name="Mark as in").click()
    expect(page.get_by_text("Bo Lindqvist is now marked IN.")).to_be_visible()
    assert questions == ["Record this status for Bo Lindqvist in the ledger? It stays there."]
    bo.refresh_from_db()
    assert bo.status == "IN"


@SIZES
def test_a_photo_of_someone_who_lives_here_asks_the_warden_first(
    browser: Browser, live_server, shift, size
):
    page = open_as_warden(browser, live_server, size)
    name = "phone" if size == PHONE else "desktop"

    page.goto("/residents/new")
    page.get_by_label("Name").fill("Ada Again")
    page.get_by_label("Room").fill("B-215")
    page.get_by_label("Photos", exact=True).set_input_files(
        FIXTURES / "faces" / "obama_640x480.jpg"
    )
    page.get_by_role("button", name="Register", exact=True).click()

    warning = page.locator(".twin")
    expect(warning).to_contain_text("Looks like Ada Okafor, room B-214")
    photo = warning.get_by_role("img", name="Photo on record of Ada Okafor")
    expect(photo).to_be_visible()
    assert loaded_widths(photo) != [0]
    expect(page.get_by_text("The photos you chose are kept")).to_be_visible()
    assert no_sideways_scroll(page)
    screenshot(page, f"night-duplicate-face-{name}")
    page.get_by_label("This is someone else").check()
    page.get_by_role("button", name="Register", exact=True).click()

    expect(page.get_by_text("Ada Again is registered")).to_be_visible()
    assert Resident.objects.get(name="Ada Again").face_embedding is not None


@SIZES
def test_the_ledger_filters_by_a_residents_name_and_a_gate_by_its_name(
    browser: Browser, live_server, shift, size
):
    warden = shift["warden"]
    assert isinstance(warden, User)
    Gate.objects.create(slug="annex", name="Annex entrance", mode="entry")
    page = open_as_warden(browser, live_server, size)
    name = "phone" if size == PHONE else "desktop"

    page.goto("/ledger/")
    page.get_by_role("searchbox", name="Resident: name or room").fill("o")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("Several residents match “o”")).to_be_visible()
    screenshot(page, f"night-ledger-candidates-{name}")
    page.get_by_role("link", name="Ada Okafor (B-214)").click()
    expect(page.locator("table.ledger tbody tr")).to_have_count(3)  # register, IN, OUT

    page.get_by_label("Gate").select_option(label="Main gate")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.ledger tbody tr")).to_have_count(2)
    assert "gate=main" in page.url
    assert no_sideways_scroll(page)
