"""The sheet of passes printed by Chromium: A4, eight passes to a page."""

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser

from residents import services
from tests.browser.conftest import DESKTOP, loaded_widths, new_page, staff_user
from tests.residents.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_ten_passes_print_on_two_a4_pages(browser: Browser, live_server, migration_data) -> None:
    staff_user("gary", "guards")
    warden = User.objects.create_user("wendy")
    for n in range(10):
        services.resident_register(by=warden, name=f"Resident {n}", room=f"C-3{n:02}", floor=3)
    page = new_page(browser, live_server.url, DESKTOP)
    page.goto("/login/?next=/residents/passes%3Ffloor%3D3")
    page.get_by_label("Username").fill("gary")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")
    assert page.locator(".sheet-card").count() == 10
    assert all(loaded_widths(page.locator(".sheet-qr")))

    pdf = page.pdf(format="A4", print_background=True)

    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 2
