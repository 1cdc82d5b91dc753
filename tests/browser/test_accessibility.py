"""Every page checked by axe-core in Chromium at a phone's and a desktop's size, and the
findings of issue 10 (presentation and accessibility) as a person on a phone meets them.

axe-core comes from the pinned ``axe-playwright-python`` test dependency, which ships
``axe.min.js`` (axe-core, MPL-2.0) inside its wheel: nothing is downloaded at test time and no
third-party code lives in this repository. It is run with ``page.evaluate``, which the site's
Content-Security-Policy (no inline scripts) does not govern; a <script> tag would break it."""

import re
from importlib import resources

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, ViewportSize, expect

from ledger.models import Block
from residents import scans, services, uploads
from residents.models import Gate, Resident
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.browser.test_every_page import pages
from tests.residents.conftest import PASSWORD, photo_bytes, speech_wav

pytestmark = pytest.mark.django_db(transaction=True)

AXE = (resources.files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
SIZES = pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])

# Markup we do not write, left out of the assertion (axe still runs there, and what it finds is
# printed): Django's admin and Swagger UI at /api/docs. With axe 4.12.1 it finds, in the admin,
# links told apart by colour alone in Django's breadcrumbs (link-in-text-block) and the
# unlabelled inputs Django's changelist renders for list_editable (label, select-name on
# Residents > Gates); in Swagger UI, its own colours (color-contrast), controls nested in its
# operation summaries (nested-interactive) and no lang on drf-spectacular's page
# (html-has-lang). None comes from our templates or CSS.
FOREIGN = ("/admin/", "/api/docs")


@pytest.fixture
def root(migration_data) -> User:
    return User.objects.create_superuser("root", "root@example.org", PASSWORD)


@pytest.fixture
def ada(root) -> Resident:
    """A resident with everything a page can show: a photo, a voice sample, a scan today."""
    ada = services.resident_register(
        by=root,
        name="Ada Okafor",
        room="B-214",
        floor=2,
        email="ada@example.org",
        photos=[uploads.photo_enrol(photo_bytes())],
        voices=[uploads.voice_enrol(speech_wav())],
    )
    scans.scan_record(
        by=root, gate=Gate.objects.get(slug="main"), mode="manual", resident_id=ada.pk
    )
    return ada


def log_in(page: Page, size: ViewportSize) -> None:
    page.set_viewport_size(size)
    page.goto("/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def violations(page: Page, *, foreign: bool = False) -> list[str]:
    """axe-core's serious and critical violations on the page as loaded, one line each."""
    page.evaluate(AXE)
    options: dict[str, object] = {"resultTypes": ["violations"]}
    if foreign:
        # The admin's stylesheets @import others, which axe re-reads through a <style> element
        # of its own: the CSP blocks that, and conftest would fail the test for axe's doing.
        options["preload"] = False
    results = page.evaluate("options => axe.run(document, options)", options)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + "; ".join(" ".join(map(str, node["target"])) for node in violation["nodes"])
        for violation in results["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def shot_name(path: str, ada: Resident) -> str:
    """A screenshot's name that stays the same from run to run (no ids)."""
    path = re.sub(r"\d+", "n", path.replace(str(ada.pk), "ada"))
    return re.sub(r"[^a-z]+", "-", path.lower()).strip("-") or "dashboard"


@SIZES
def test_every_page_has_no_serious_accessibility_violation(
    page: Page, ada: Resident, size: ViewportSize
) -> None:
    found: dict[str, list[str]] = {}
    page.set_viewport_size(size)
    page.goto("/login/")
    found["/login/"] = violations(page)
    screenshot(page, f"a11y-login-{size['width']}")
    log_in(page, size)
    for path in [*pages(str(ada.pk), scan_block_index()), "/no-such-page/"]:
        response = page.goto(path)
        assert response is not None, path
        assert response.status == (404 if path == "/no-such-page/" else 200), path
        page.wait_for_load_state("networkidle")
        found[path] = violations(page, foreign=path.startswith(FOREIGN))
        screenshot(page, f"a11y-{shot_name(path, ada)}-{size['width']}")

    for path, lines in found.items():
        if path.startswith(FOREIGN):
            print("\n".join(f"not ours, {path}: {line}" for line in lines))
    report = "\n".join(
        f"{path}: {line}"
        for path, lines in found.items()
        if not path.startswith(FOREIGN)
        for line in lines
    )
    assert not report, f"axe-core at {size['width']} px:\n{report}"


def scan_block_index() -> int:
    return Block.objects.filter(type="scan").get().index


@SIZES
def test_the_first_tab_stop_is_a_visible_skip_link_to_the_content(
    page: Page, ada: Resident, size: ViewportSize
) -> None:
    log_in(page, size)
    for path in ["/", f"/residents/{ada.pk}/", "/scan/", "/ledger/"]:
        page.goto(path)
        skip = page.get_by_role("link", name="Skip to the content")
        page.keyboard.press("Tab")
        expect(skip).to_be_focused()
        expect(skip).to_have_attribute("href", "#content")
        box = skip.bounding_box()
        assert box is not None and box["y"] >= 0 and box["height"] >= 20, f"{path}: hidden"
        assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], f"{path}: off screen"
        if path == "/":
            screenshot(page, f"a11y-skip-link-{size['width']}")
        page.keyboard.press("Enter")
        expect(page.locator(":focus")).to_have_id("content")
        assert page.evaluate("document.activeElement.tagName") == "MAIN", path
        # Out of focus it is out of sight: it does not cover the brand in the header.
        page.keyboard.press("Tab")
        box = skip.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 0, f"{path}: still showing"


def test_every_page_of_ours_names_itself_in_one_h1(page: Page, ada: Resident) -> None:
    log_in(page, DESKTOP)
    missing = []
    for path in pages(str(ada.pk), scan_block_index()):
        if path.startswith(FOREIGN):
            continue
        page.goto(path)
        headings = page.get_by_role("heading", level=1)
        if headings.count() != 1:
            missing.append(f"{path}: {headings.count()} h1")
    assert missing == []


def test_the_scan_page_says_what_it_is_in_a_heading(page: Page, ada: Resident) -> None:
    log_in(page, PHONE)
    page.goto("/scan/")
    expect(page.get_by_role("heading", level=1, name="Scan at the gate")).to_be_visible()
    # Compact: the camera's picture still starts in the phone's first screen.
    box = page.locator(".viewfinder").bounding_box()
    assert box is not None and box["y"] < PHONE["height"] / 2
    screenshot(page, "a11y-scan-heading-390")


@pytest.mark.parametrize(
    "size", [{"width": 320, "height": 640}, PHONE, DESKTOP], ids=["320", "390", "1280"]
)
def test_the_chart_hour_labels_are_readable_on_a_phone(
    page: Page, ada: Resident, size: ViewportSize
) -> None:
    log_in(page, size)
    labels = page.locator("svg.chart text")
    expect(labels.first).to_be_visible()
    heights = labels.evaluate_all(
        "labels => labels.map(label => label.getBoundingClientRect().height)"
    )
    assert len(heights) == 8 and min(heights) >= 10 and max(heights) <= 20, heights
    screenshot(page, f"a11y-chart-{size['width']}")


def test_a_resident_with_a_voice_sample_does_not_scroll_sideways_on_a_phone(
    page: Page, ada: Resident
) -> None:
    log_in(page, PHONE)
    page.goto(f"/residents/{ada.pk}/")
    player = page.get_by_label("Voice recording 1")
    expect(player).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, "a11y-resident-voice-390")
    assert width <= PHONE["width"], f"the page is {width} px wide"
    box = player.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
