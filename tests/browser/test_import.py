"""Importing residents in Chromium, at phone and desktop sizes: a file with a problem is
shown row by row and imports nobody; the corrected file is previewed, then imported."""

import re

import pytest
from playwright.sync_api import Browser, expect

from residents.models import Resident
from tests.browser.conftest import DESKTOP, PHONE, new_page, screenshot, staff_user
from tests.residents.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

FILE = "name,room,floor,email\nAma Owusu,B-201,2,ama@example.org\nBo Lindqvist,B-202,2,{bo}\n"


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_warden_fixes_a_file_then_imports_it(
    browser: Browser, live_server, migration_data, tmp_path, size
) -> None:
    staff_user("wendy", "wardens")
    wrong, right = tmp_path / "wrong.csv", tmp_path / "right.csv"
    wrong.write_text(FILE.format(bo="bo at example"))
    right.write_text(FILE.format(bo="bo@example.org"))
    page = new_page(browser, live_server.url, size)
    page.goto("/login/?next=/residents/")
    page.get_by_label("Username").fill("wendy")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Import from a spreadsheet").click()

    page.get_by_label("CSV or XLSX file").set_input_files(str(wrong))
    page.get_by_role("button", name="Check the file").click()

    expect(page.get_by_role("alert").first).to_contain_text("1 of 2 rows have problems")
    expect(page.locator("tr.has-problem")).to_contain_text("Email: Enter a valid email address.")
    expect(page.get_by_role("button", name=re.compile("^Import"))).to_have_count(0)
    assert Resident.objects.count() == 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_label("CSV or XLSX file").set_input_files(str(right))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("status")).to_contain_text("2 residents ready to import")
    screenshot(page, f"import-preview-{size['width']}")
    page.get_by_role("button", name="Import 2 residents").click()

    expect(page.get_by_text("2 residents imported.")).to_be_visible()
    expect(page.get_by_role("link", name="Bo Lindqvist")).to_be_visible()
    assert sorted(Resident.objects.values_list("name", flat=True)) == [
        "Ama Owusu",
        "Bo Lindqvist",
    ]
