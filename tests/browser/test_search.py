"""Manual entry at the gate finds residents as the guard types, in natural order, and says
when more match than it lists (issue 10, items 7 and 10)."""

import re
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from residents import services
from tests.browser.conftest import DESKTOP, PHONE, new_page, screenshot, staff_user
from tests.residents.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

SIZES = {"phone": PHONE, "desktop": DESKTOP}


@pytest.fixture
def guard(migration_data) -> User:
    return staff_user("gary", "guards")


@pytest.fixture
def residents(guard) -> None:
    warden = User.objects.create_user("wendy")
    for n in range(1, 13):  # B-201 … B-212, registered out of order
        n = (n * 5) % 12 + 1
        services.resident_register(by=warden, name=f"Lucía {n}", room=f"B-2{n:02}")
    services.resident_register(by=warden, name="Bo Lindqvist", room="C-301")


@pytest.fixture
def scan_page(browser: Browser, live_server, guard, request) -> Iterator[Page]:
    """The scan page at the size the test names, logged in as the guard, gate chosen."""
    page = new_page(browser, live_server.url, SIZES[request.param])
    page.goto("/login/?next=/scan/")
    page.get_by_label("Username").fill("gary")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/scan/$"))
    expect(page.locator("#camera-status")).not_to_have_text("Starting the camera…")
    page.locator("#gate").select_option("main")
    page.get_by_text("Manual entry").click()
    yield page
    page.context.close()


@pytest.mark.parametrize("scan_page", list(SIZES), indirect=True)
def test_manual_entry_says_when_more_match_than_it_lists(scan_page: Page, residents, request):
    size = request.node.callspec.params["scan_page"]
    page = scan_page
    results = page.locator("#manual-results li")
    hint = page.get_by_role("status").filter(has_text="match")

    page.get_by_label("Find a resident").fill("lucia b-2")

    expect(hint).to_have_text(
        "12 residents match; the first 8 are shown. Type more of the name or room."
    )
    expect(results).to_have_count(8)
    labels = [text.split(" · ")[0] for text in results.locator("span").all_inner_texts()]
    assert labels == [f"Lucía {n}" for n in range(1, 9)]  # natural order: 1, 2 … not 1, 10
    screenshot(page, f"scan-manual-more-{size}")

    page.get_by_label("Find a resident").fill("LUCIA 11")

    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Lucía 11 · B-211")
    expect(page.locator("#manual-hint")).to_be_hidden()

    page.get_by_label("Find a resident").fill("nobody here")

    expect(page.locator("#manual-hint")).to_have_text("No resident matches “nobody here”.")
    expect(results).to_have_count(0)
