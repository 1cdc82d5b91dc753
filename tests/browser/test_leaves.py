"""Leave in Chromium, the main path: the resident asks from the link on their pass (a phone),
a warden approves (a desktop), and the gate shows the exit as on approved leave."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from leaves import links
from leaves.models import Leave
from residents import passes
from residents import services as resident_services
from tests.browser.conftest import DESKTOP, PHONE, new_page, qr_frame, screenshot, staff_user
from tests.browser.test_gate import ada, camera, guard, scan_blocks  # noqa: F401
from tests.residents.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_asked_on_a_phone_approved_by_a_warden_and_shown_at_the_gate(
    browser: Browser,
    live_server,
    camera,  # noqa: F811
    ada,  # noqa: F811
    settings,
) -> None:
    settings.CURFEW = ""
    warden = staff_user("wanda", "wardens")
    now = timezone.now()

    # The resident, on their phone, from the link on their pass: no login.
    phone = new_page(browser, live_server.url, PHONE)
    phone.goto(f"/leave/{links.leave_link_token(ada)}")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Ask for leave, Ada Okafor")
    phone.get_by_label("Kind").select_option("home")
    phone.get_by_label("Destination").fill("Home, Enugu")
    phone.get_by_label("From").fill(local(now + timedelta(minutes=30)))
    phone.get_by_label("Back by").fill(local(now + timedelta(days=2)))
    phone.get_by_role("button", name="Ask").click()
    expect(phone.get_by_text("Asked: the warden will approve or refuse it.")).to_be_visible()
    expect(phone.get_by_role("listitem").filter(has_text="Enugu")).to_contain_text(
        "Home, Enugu: Requested"
    )
    screenshot(phone, "leave-asked-390")

    # The warden, at a desk: the request waits on the leave page; approve it.
    desk = new_page(browser, live_server.url, DESKTOP)
    desk.goto("/login/?next=/leaves/")
    desk.get_by_label("Username").fill(warden.username)
    desk.get_by_label("Password").fill(PASSWORD)
    desk.get_by_role("button", name="Log in").click()
    expect(desk).to_have_url(re.compile(r"/leaves/$"))
    desk.get_by_role("link", name="Home").click()
    desk.get_by_label("Note").fill("Back by Sunday evening")
    desk.get_by_role("button", name="Approve").click()
    expect(desk.get_by_text("The leave of Ada Okafor is approved.")).to_be_visible()
    assert Leave.objects.get().status == "approved"
    phone.reload()
    expect(phone.get_by_role("listitem").filter(has_text="Enugu")).to_contain_text("Approved")

    # The gate: Ada, inside, shows her pass on the way out.
    resident_services.resident_status_set(resident=ada, by=warden, status="IN")
    gate = camera(qr_frame(passes.pass_token(ada.pk, ada.pass_version)), viewport=PHONE)
    expect(gate.locator("#verdict")).to_have_text("OUT", timeout=20_000)
    expect(gate.locator("#result-notes")).to_contain_text("On approved leave until")
    screenshot(gate, "scan-on-leave-390")
    [block] = scan_blocks()
    assert block["status"] == "OUT" and block["leave_id"] == str(Leave.objects.get().pk)
