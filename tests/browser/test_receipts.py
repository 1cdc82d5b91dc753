"""A guardian's receipt, fetched from the resident's page in Chromium at a phone's and a
desktop's size, and checked offline as they would check it."""

import json

import pytest
from playwright.sync_api import Browser, expect

from ledger import audit
from residents import services
from tests.browser.conftest import DESKTOP, PHONE, screenshot, staff_user
from tests.browser.test_night_shift import no_sideways_scroll, open_as_warden
from tests.conftest import make_checkpoint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_receipt_downloads_from_the_residents_page_and_checks_offline(
    browser: Browser, live_server, migration_data, checkpoint_key, tmp_path, size
) -> None:
    warden = staff_user("wendy", "wardens")
    ada = services.resident_register(by=warden, name="Ada Okafor", room="B-214")
    services.resident_status_set(resident=ada, by=warden, status="OUT")
    services.resident_status_set(resident=ada, by=warden, status="IN")
    make_checkpoint(checkpoint_key[0])
    services.resident_status_set(resident=ada, by=warden, status="OUT")  # after the checkpoint
    page = open_as_warden(browser, live_server, size)

    page.goto(f"/residents/{ada.pk}/")
    links = page.get_by_role("link", name="receipt")
    expect(links).to_have_count(3)  # registered, out, in; not the newest
    expect(page.get_by_text("later ones after the next checkpoint")).to_be_visible()
    assert no_sideways_scroll(page)
    screenshot(page, f"receipt-links-{'phone' if size == PHONE else 'desktop'}")
    with page.expect_download() as download:
        links.first.click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)

    assert json.loads(path.read_text())["block"]["data"].find('"status": "IN"') > 0
    assert audit.main(["--receipt", str(path), "--checkpoint-key", checkpoint_key[1]]) == 0
