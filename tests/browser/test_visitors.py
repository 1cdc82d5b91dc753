"""Visitors in Chromium at the gate, on a phone: a guard lets a visitor in with a photo, the
day pass shows its QR code, the dashboard counts the visitor, and the guard lets them out."""

import re

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, expect

from tests.browser.conftest import PHONE, loaded_widths, new_page, qr_frame, screenshot
from tests.browser.test_gate import ada, camera, guard  # noqa: F401
from tests.residents.conftest import FIXTURES, PASSWORD
from visitors import passes as visitor_passes
from visitors import services as visitor_services
from visitors.models import Visitor

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_guard_lets_a_visitor_in_with_a_day_pass_and_out(
    browser: Browser,
    live_server,
    ada,  # noqa: F811
    settings,
) -> None:
    settings.VISITORS_CLOSE = ""
    page = new_page(browser, live_server.url, PHONE)
    page.goto("/login/?next=/visitors/new")
    page.get_by_label("Username").fill("gary")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/visitors/new$"))

    page.get_by_label("Name").fill("Chidi Eze")
    page.get_by_label("Phone").fill("+234 802 000 1111")
    page.get_by_label("Visiting").select_option(label="Ada Okafor (B-214)")
    page.get_by_label("Photo").set_input_files(str(FIXTURES / "faces" / "biden.jpg"))
    page.get_by_role("button", name="Let in and make a day pass").click()

    expect(page.get_by_text("Chidi Eze is in.")).to_be_visible()
    expect(page.get_by_role("img", name="QR code of the day pass")).to_be_visible()
    expect(page.get_by_role("img", name="Photo of Chidi Eze")).to_be_visible()
    assert all(loaded_widths(page.locator(".pass-qr, .pass-photo")))
    screenshot(page, "visitor-pass-390")

    page.goto("/")
    expect(page.locator("[data-count=visitors]")).to_have_text("1")
    page.goto("/visitors/")
    page.get_by_role("button", name="Check out").click()
    expect(page.get_by_text("Chidi Eze has left.")).to_be_visible()
    expect(page.get_by_text("No visitor inside.")).to_be_visible()
    assert Visitor.objects.get().checked_out_at is not None


def test_the_gate_camera_reads_a_day_pass_and_lets_the_visitor_out(
    camera,  # noqa: F811
    ada,  # noqa: F811
    settings,
) -> None:
    settings.SCAN_DEBOUNCE_SECONDS = 0
    visitor = visitor_services.visitor_check_in(
        name="Chidi Eze", phone="+234 802 000 1111", host=ada, hours=2, photo=None,
        by=User.objects.get(username="gary"),
    )  # fmt: skip
    token = visitor_passes.visitor_pass_token(visitor.pk, timezone.localdate())

    page = camera(qr_frame(token), viewport=PHONE)

    expect(page.locator("#verdict")).to_have_text("OUT", timeout=20_000)
    expect(page.locator("#result-name")).to_have_text("Chidi Eze")
    expect(page.locator("#result-notes")).to_contain_text("Visitor of Ada Okafor (room B-214)")
    visitor.refresh_from_db()
    assert visitor.checked_out_at is not None
    ada.refresh_from_db()
    assert ada.status is None
