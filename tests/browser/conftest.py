"""A real headless Chromium (Debian's), driven by Playwright against the live test server."""

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

# Playwright's sync API keeps an event loop in this thread; the test code around it still
# calls the ORM synchronously, which is safe here (one thread, no awaits in between).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import Browser, Locator, Page, Playwright, ViewportSize, sync_playwright

from residents import passes
from tests import videos

CHROMIUM = os.environ.get("HOSTEL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Camera and microphone: grant access without a prompt and use Chromium's test devices.
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
SCREENSHOTS = Path(os.environ.get("HOSTEL_SCREENSHOTS", "var/screenshots"))


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    # Module scope: Playwright's event loop must not outlive the browser tests. While it runs,
    # Django's per-thread connections resolve differently, and a later test that forks
    # would hand its children a connection it believes it closed.
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's chromium "
            "(apt-get install chromium) or set HOSTEL_CHROMIUM. The browser tests never skip."
        )
    with sync_playwright() as playwright:
        yield playwright


def launch(playwright: Playwright, *extra_args: str) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = launch(playwright)
    yield browser
    browser.close()


# Every Content-Security-Policy violation any page reports fails the test it happened in.
CSP_VIOLATIONS: list[str] = []
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error("CSP violation: " + event.violatedDirective + " blocked " + event.blockedURI);
});
"""


PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}


def new_page(browser: Browser, base_url: str, viewport: ViewportSize | None = None) -> Page:
    context = browser.new_context(
        base_url=base_url,
        viewport=viewport or {"width": 412, "height": 915},  # a phone at the gate
    )
    context.grant_permissions(["camera", "microphone"], origin=base_url)
    context.add_init_script(REPORT_VIOLATIONS)
    page = context.new_page()
    page.on(
        "console",
        lambda message: (
            CSP_VIOLATIONS.append(f"{page.url}: {message.text}")
            if "CSP violation" in message.text or "Content Security Policy" in message.text
            else None
        ),
    )
    page.set_default_timeout(15_000)
    return page


@pytest.fixture(autouse=True)
def _no_csp_violations() -> Iterator[None]:
    CSP_VIOLATIONS.clear()
    yield
    assert CSP_VIOLATIONS == [], "the page broke its Content-Security-Policy"


def write_y4m(path: Path, frame: Image.Image, frames: int = 20) -> Path:
    """A Y4M video of one frame, repeated, for Chromium's fake camera (tests.videos).
    Width and height must be even."""
    videos.write_y4m(path, [(frame, frames / videos.FPS)])
    return path


def qr_frame(text: str, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """The QR of ``text`` centred on a grey frame, as a phone camera would see a pass."""
    frame = Image.new("L", size, 128)
    qr = Image.open(io.BytesIO(passes.qr_png(text, scale=6))).convert("L")
    frame.paste(qr, ((size[0] - qr.width) // 2, (size[1] - qr.height) // 2))
    return frame


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    page = new_page(browser, live_server.url)
    yield page
    page.context.close()


def staff_user(username: str, role: str) -> Any:
    from django.contrib.auth.models import Group, User

    from tests.residents.conftest import PASSWORD

    user = User.objects.create_user(username, password=PASSWORD)
    user.groups.add(Group.objects.get(name=role))
    return user


def fully_visible(page: Page, selector: str) -> bool:
    """Whether the element lies wholly inside the viewport, as the person sees it."""
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None, selector
    return (
        box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= size["width"] + 0.5
        and box["y"] + box["height"] <= size["height"] + 0.5
    )


def loaded_widths(images: Locator) -> list[int]:
    """The natural width of each image once the browser has its file decoded (0 for one it
    cannot show). An image is visible, at its CSS size, before its file arrives: reading
    naturalWidth at once raced the download on a busy machine."""
    return images.evaluate_all(
        "imgs => Promise.all(imgs.map((img) => img.decode().then(() => img.naturalWidth, () => 0)))"
    )


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
