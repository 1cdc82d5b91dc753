"""The gate in a real Chromium whose camera is a video file (a pass, or nothing)."""

import base64
import io
import re

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from ledger.models import Block
from residents import passes, services, uploads
from residents.biometrics import face
from residents.models import Gate, Resident
from tests import videos
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    fully_visible,
    launch,
    new_page,
    qr_frame,
    screenshot,
    staff_user,
    write_y4m,
)
from tests.residents.conftest import FIXTURES, PASSWORD, photo_bytes

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def guard(migration_data) -> User:
    return staff_user("gary", "guards")


@pytest.fixture
def ada(guard) -> Resident:
    warden = User.objects.create_user("wendy")
    return services.resident_register(
        by=warden, name="Ada Okafor", room="B-214", photos=[uploads.photo_enrol(photo_bytes())]
    )


@pytest.fixture
def camera(playwright, live_server, tmp_path):
    """Open the scan page in a Chromium whose camera shows ``frame``; yields a page factory."""
    browsers: list[Browser] = []

    def open_scan_page(
        frame, username: str = "gary", audio=None, viewport=None, gate: str | None = "main"
    ) -> Page:
        video = tmp_path / f"camera-{len(browsers)}.y4m"
        if isinstance(frame, list):  # a video: (picture, seconds) clips, tests.videos
            videos.write_y4m(video, frame)
        else:
            write_y4m(video, frame)
        extra = [f"--use-file-for-fake-audio-capture={audio}"] if audio else []
        browser = launch(playwright, f"--use-file-for-fake-video-capture={video}", *extra)
        browsers.append(browser)
        page = new_page(browser, live_server.url, viewport)
        page.goto("/login/?next=/scan/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(re.compile(r"/scan/$"))
        # The page's module has run (it changes the camera status) before anyone types.
        expect(page.locator("#camera-status")).not_to_have_text("Starting the camera…")
        if gate:  # a new device: the guard says which gate it stands at
            page.locator("#gate").select_option(gate)
        return page

    yield open_scan_page
    for browser in browsers:
        browser.close()


@pytest.fixture
def alan(guard) -> Resident:
    warden = User.objects.get_or_create(username="wendy")[0]
    return services.resident_register(
        by=warden,
        name="Alan Example",
        room="A-1",
        voices=[uploads.voice_enrol((FIXTURES / "voices" / "aew_a0001.wav").read_bytes())],
    )


def scan_blocks() -> list[dict]:
    return [block.payload for block in Block.objects.filter(type="scan").order_by("index")]


def test_the_camera_reads_a_pass_and_the_resident_is_in(camera, ada):
    page = camera(qr_frame(passes.pass_token(ada.pk, ada.pass_version)))

    expect(page.locator("#verdict")).to_have_text("IN", timeout=20_000)
    expect(page.locator("#result-name")).to_have_text("Ada Okafor")
    expect(page.locator("#result-room")).to_have_text("Room B-214")
    expect(page.get_by_role("img", name="Photo on record")).to_be_visible()
    screenshot(page, "scan-accepted")

    ada.refresh_from_db()
    assert ada.status == "IN"
    assert [(b["resident_id"], b["status"], b["mode"]) for b in scan_blocks()] == [
        (str(ada.pk), "IN", "qr")
    ]
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.wait_for_timeout(4500)  # reading resumes; the pass still in view is not sent again
    assert posts == [] and len(scan_blocks()) == 1
    expect(page.locator("#result")).to_be_visible()  # until the next scan or "Scan next"
    # The keyboard stays on the result: Tab never reaches the page behind it.
    for _ in range(4):
        page.keyboard.press("Tab")
        assert page.evaluate(
            "document.activeElement === document.body"
            " || document.getElementById('result').contains(document.activeElement)"
        )
    expect(page.locator(".topbar")).to_have_js_property("inert", True)
    page.get_by_role("button", name="Scan next").click()
    expect(page.locator(".topbar")).to_have_js_property("inert", False)

    page.goto("/")
    expect(page.locator(".card", has_text="In now")).to_contain_text("Ada Okafor")
    screenshot(page, "dashboard")


def test_a_blank_camera_posts_nothing(camera, ada):
    from PIL import Image

    page = camera(Image.new("L", (640, 480), 128))
    posts = []
    page.on(
        "request", lambda request: posts.append(request.url) if request.method == "POST" else None
    )

    expect(page.locator("#camera-status")).to_have_text("Point the camera at a pass.")
    page.wait_for_timeout(3000)

    assert posts == []
    assert scan_blocks() == []
    expect(page.locator("#result")).to_be_hidden()


def test_a_replaced_pass_is_refused_on_screen_and_recorded_once_as_denied(camera, ada):
    old_token = passes.pass_token(ada.pk, ada.pass_version)
    services.pass_reissue(resident=ada, by=User.objects.get(username="wendy"))

    page = camera(qr_frame(old_token))

    expect(page.locator("#verdict")).to_have_text("REFUSED", timeout=20_000)
    expect(page.locator("#result-message")).to_contain_text("replaced by a newer one")
    expect(page.locator("#result-name")).to_have_text("Ada Okafor")
    screenshot(page, "scan-refused")
    ada.refresh_from_db()
    assert ada.status is None  # never scanned: still no status
    assert scan_blocks() == []
    page.wait_for_timeout(2000)  # the pass is still in front of the camera
    denied = [block.payload for block in Block.objects.filter(type="denied")]
    assert [(event["code"], event["resident_id"]) for event in denied] == [
        ("revoked_pass", str(ada.pk))
    ]


def test_a_lost_request_is_retried_with_the_same_scan_id_and_recorded_once(camera, ada):
    # No gate chosen yet, so nothing is read before the network goes down (under load the
    # pass was sent, and recorded, before the route was in place).
    page = camera(qr_frame(passes.pass_token(ada.pk, ada.pass_version)), gate=None)
    sent = []

    def network_down(route) -> None:
        sent.append(route.request.post_data_json)
        route.abort("internetdisconnected")

    page.route("**/api/scan", network_down)
    page.locator("#gate").select_option("main")
    expect(page.locator("#verdict")).to_have_text("NO ANSWER", timeout=20_000)
    expect(page.locator("#result-message")).to_contain_text("never recorded twice")
    assert scan_blocks() == []

    page.unroute("**/api/scan")
    retried = []
    page.on(
        "request",
        lambda r: retried.append(r.post_data_json) if r.url.endswith("/api/scan") else None,
    )
    page.get_by_role("button", name="Retry").click()

    expect(page.locator("#verdict")).to_have_text("IN")
    assert len(sent) == 1 and retried[0]["scan_id"] == sent[0]["scan_id"]
    assert retried[0]["token"] == sent[0]["token"]
    assert len(scan_blocks()) == 1


def test_a_face_scan_from_the_camera_identifies_the_resident(camera, ada):
    from PIL import Image, ImageOps

    from tests.residents.conftest import FIXTURES

    portrait = Image.open(FIXTURES / "faces" / "obama_2.jpg")
    page = camera(ImageOps.fit(portrait, (640, 480), centering=(0.5, 0.15)))  # head in frame
    expect(page.locator("#camera-status")).to_have_text("Point the camera at a pass.")
    page.get_by_role("button", name="Scan face").click()

    expect(page.locator("#verdict")).not_to_have_text("…", timeout=20_000)
    assert page.locator("#verdict").inner_text() == "IN", page.locator(
        "#result-message"
    ).inner_text()
    expect(page.locator("#result-name")).to_have_text("Ada Okafor")
    expect(page.get_by_role("img", name="Face captured now")).to_be_visible()
    expect(page.locator("#result-message")).to_contain_text("Face distance")
    screenshot(page, "scan-face")
    assert [(b["resident_id"], b["mode"]) for b in scan_blocks()] == [(str(ada.pk), "face")]


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_warden_adds_a_refused_genuine_face_and_the_next_scan_passes(camera, ada, settings, size):
    """The gate's threshold set tight (0.30) so that Ada's other photo (0.36 from the one
    she enrolled with) is refused, as a photo in other light can be at a real gate. The
    warden, who sees whom it came closest to, adds it to her photos; the next scan passes.
    A guard is never offered to add a photo."""
    from PIL import ImageOps

    settings.FACE_MATCH_THRESHOLD = 0.30
    staff_user("walter", "wardens")
    portrait = Image.open(FIXTURES / "faces" / "obama_2.jpg")
    frame = ImageOps.fit(portrait, (640, 480), centering=(0.5, 0.15))
    guards_page = camera(frame)
    expect(guards_page.locator("#camera-status")).to_have_text("Point the camera at a pass.")
    guards_page.get_by_role("button", name="Scan face").click()
    expect(guards_page.locator("#verdict")).to_have_text("REFUSED", timeout=20_000)
    expect(guards_page.locator("#closest")).to_be_hidden()

    page = camera(frame, username="walter", viewport=size)
    expect(page.locator("#camera-status")).to_have_text("Point the camera at a pass.")
    page.get_by_role("button", name="Scan face").click()
    expect(page.locator("#verdict")).to_have_text("REFUSED", timeout=20_000)
    expect(page.locator("#closest-text")).to_contain_text("Closest: Ada Okafor, room B-214")
    add = page.get_by_role("button", name="Add this photo to Ada Okafor")
    assert fully_visible(page, "#add-photo")
    screenshot(page, f"scan-face-closest-{size['width']}")
    add.click()
    expect(page.locator("#closest-status")).to_have_text(
        "Added: Ada Okafor is enrolled with 2 photos. Scan again."
    )
    assert ada.samples.count() == 2
    page.get_by_role("button", name="Scan next").click()
    page.get_by_role("button", name="Scan face").click()

    expect(page.locator("#verdict")).to_have_text("IN", timeout=20_000)
    expect(page.locator("#result-name")).to_have_text("Ada Okafor")
    expect(page.locator("#closest")).to_be_hidden()
    assert [(b["resident_id"], b["mode"]) for b in scan_blocks()] == [(str(ada.pk), "face")]


@pytest.mark.parametrize(
    "viewport",
    [{"width": 360, "height": 740}, {"width": 390, "height": 844}, {"width": 1280, "height": 800}],
    ids=["360", "390", "desktop"],
)
def test_a_face_result_keeps_the_name_readable_beside_two_photos(camera, ada, viewport):
    """Found: on a phone the two photos squeezed the name to a syllable per line."""
    from PIL import Image, ImageOps

    from tests.residents.conftest import FIXTURES

    Resident.objects.filter(pk=ada.pk).update(name="Kit Harington", room="B-214")
    portrait = Image.open(FIXTURES / "faces" / "obama_2.jpg")
    page = camera(ImageOps.fit(portrait, (640, 480), centering=(0.5, 0.15)), viewport=viewport)
    expect(page.locator("#camera-status")).to_have_text("Point the camera at a pass.")
    page.get_by_role("button", name="Scan face").click()

    expect(page.locator("#verdict")).to_have_text("IN", timeout=20_000)
    expect(page.get_by_role("img", name="Face captured now")).to_be_visible()
    expect(page.get_by_role("img", name="Photo on record")).to_be_visible()
    name = page.locator("#result-name")
    lines = name.evaluate(
        "e => Math.round(e.getBoundingClientRect().height"
        " / parseFloat(getComputedStyle(e).lineHeight || 0) || 0)"
    )
    words = name.evaluate(
        "e => { const r = document.createRange(); r.selectNodeContents(e);"
        " return r.getClientRects().length; }"
    )
    assert words <= 2, f"the name runs over {words} lines"  # "Kit Harington": one or two
    assert lines <= 2
    for part in ("#verdict", "#result-name", "#result-captured", "#result-photo", "#next"):
        assert fully_visible(page, part), part
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, f"scan-face-result-{viewport['width']}")


def test_manual_entry_at_an_exit_only_gate_offers_what_it_will_record(camera, ada):
    """Review: at an exit-only gate a never-scanned resident was offered "Record IN", and
    the server recorded OUT."""
    Gate.objects.create(slug="back", name="Back door", mode="exit")
    page = camera(Image.new("RGB", (640, 480), "gray"), gate="back")
    page.get_by_text("Manual entry").click()
    page.get_by_label("Find a resident").fill("Ada")
    expect(page.get_by_text("Ada Okafor · B-214 · no scan yet")).to_be_visible()

    expect(page.get_by_role("button", name="Record OUT")).to_be_visible()
    page.get_by_role("button", name="Record OUT").click()
    page.get_by_role("button", name="Yes, record OUT").click()

    expect(page.locator("#verdict")).to_have_text("OUT")
    assert [(b["status"], b["gate"]) for b in scan_blocks()] == [("OUT", "back")]


def test_a_voice_scan_from_the_microphone_identifies_the_speaker(camera, alan):
    from PIL import Image

    page = camera(Image.new("L", (640, 480), 128), audio=FIXTURES / "voices" / "aew_a0002.wav")
    expect(page.locator("#camera-status")).to_have_text("Point the camera at a pass.")
    page.get_by_role("button", name="Scan voice").click()

    expect(page.locator("#verdict")).to_have_text("IN", timeout=20_000)
    expect(page.locator("#result-name")).to_have_text("Alan Example")
    expect(page.locator("#result-message")).to_contain_text("Voice similarity")
    assert [(b["resident_id"], b["mode"]) for b in scan_blocks()] == [(str(alan.pk), "voice")]


SIZES = {"phone": PHONE, "desktop": DESKTOP}


def assert_the_result_fills_the_screen(page: Page) -> None:
    for part in ("#result", "#verdict", "#result-name", "#next"):
        assert fully_visible(page, part), part
    size = page.locator("#verdict").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 56  # px: readable at arm's length


@pytest.mark.parametrize("size", SIZES)
def test_an_accepted_scan_takes_the_screen_until_scan_next(camera, ada, size):
    page = camera(qr_frame(passes.pass_token(ada.pk, ada.pass_version)), viewport=SIZES[size])

    expect(page.locator("#verdict")).to_have_text("IN", timeout=20_000)
    assert_the_result_fills_the_screen(page)
    screenshot(page, f"scan-accepted-{size}")
    page.wait_for_timeout(5_000)  # the pass is still held up: read again, but not a repeat
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#verdict")).to_have_text("IN")
    assert len(scan_blocks()) == 1

    page.get_by_role("button", name="Scan next").click()
    expect(page.locator("#result")).to_be_hidden()


@pytest.mark.parametrize("size", SIZES)
def test_a_refusal_stays_on_screen_until_dismissed(camera, ada, size):
    old_pass = passes.pass_token(ada.pk, ada.pass_version)
    services.pass_reissue(resident=ada, by=User.objects.get(username="wendy"))
    page = camera(qr_frame(old_pass), viewport=SIZES[size])

    expect(page.locator("#verdict")).to_have_text("REFUSED", timeout=20_000)
    assert_the_result_fills_the_screen(page)
    screenshot(page, f"scan-refused-{size}")
    page.wait_for_timeout(6_000)
    expect(page.locator("#verdict")).to_have_text("REFUSED")

    page.get_by_role("button", name="Scan next").click()
    expect(page.locator("#result")).to_be_hidden()
    assert scan_blocks() == []


def test_a_guard_logged_out_meanwhile_is_told_so_not_that_the_resident_is_refused(camera, ada):
    page = camera(Image.new("RGB", (640, 480), "gray"), viewport=PHONE)  # manual entry only
    page.get_by_text("Manual entry").click()
    page.get_by_label("Find a resident").fill("Ada")
    page.get_by_role("button", name="Record IN").click()
    confirm = page.get_by_role("button", name="Yes, record IN")
    expect(confirm).to_be_visible()
    Session.objects.all().delete()  # the session expired at 2 a.m.

    confirm.click()

    expect(page.locator("#verdict")).to_have_text("NOT RECORDED")
    expect(page.locator("#result-message")).to_contain_text("You are logged out")
    assert fully_visible(page, "#verdict")
    screenshot(page, "scan-not-recorded-phone")
    assert scan_blocks() == []


@pytest.mark.parametrize("size", SIZES)
def test_a_new_device_asks_for_its_gate_before_recording(camera, ada, size):
    Gate.objects.create(slug="annex", name="Annex door", mode=Gate.Mode.ENTRY)  # sorts first
    page = camera(
        qr_frame(passes.pass_token(ada.pk, ada.pass_version)), viewport=SIZES[size], gate=None
    )
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    expect(page.locator("#camera-status")).to_contain_text("Which gate is this device at?")
    expect(page.locator("#gate")).to_have_value("")
    screenshot(page, f"scan-choose-gate-{size}")
    page.wait_for_timeout(3_000)  # a pass in view is not sent anywhere meanwhile
    assert posts == [] and scan_blocks() == []

    page.locator("#gate").select_option("main")

    expect(page.locator("#verdict")).to_have_text("IN", timeout=20_000)
    assert [(b["gate"], b["status"]) for b in scan_blocks()] == [("main", "IN")]
    page.reload()  # remembered on this device
    expect(page.locator("#gate")).to_have_value("main")


@pytest.mark.parametrize("size", SIZES)
def test_manual_entry_confirms_with_the_photo_and_its_labels_follow_the_answers(
    camera, ada, size, settings
):
    settings.SCAN_DEBOUNCE_SECONDS = 0  # IN then OUT at once
    page = camera(Image.new("RGB", (640, 480), "gray"), viewport=SIZES[size])
    page.get_by_text("Manual entry").click()
    page.get_by_label("Find a resident").fill("Ada")
    expect(page.get_by_text("Ada Okafor · B-214 · no scan yet")).to_be_visible()

    page.get_by_role("button", name="Record IN").click()
    expect(page.get_by_role("img", name="Photo on record of Ada Okafor")).to_be_visible()
    expect(page.get_by_text("Record IN for Ada Okafor, room B-214?")).to_be_visible()
    screenshot(page, f"scan-manual-confirm-{size}")
    assert scan_blocks() == []  # nothing until confirmed
    page.get_by_role("button", name="Yes, record IN").click()
    expect(page.locator("#verdict")).to_have_text("IN")
    page.get_by_role("button", name="Scan next").click()

    # The list was read again: the next press records OUT, as its label says.
    expect(page.get_by_text("Ada Okafor · B-214 · IN")).to_be_visible()
    page.get_by_role("button", name="Record OUT").click()
    page.get_by_role("button", name="Yes, record OUT").click()
    expect(page.locator("#verdict")).to_have_text("OUT")
    assert [(b["status"], b["mode"]) for b in scan_blocks()] == [
        ("IN", "manual"),
        ("OUT", "manual"),
    ]


def test_a_gate_closed_while_the_page_is_open_is_asked_for_again(camera, ada):
    page = camera(Image.new("RGB", (640, 480), "gray"), viewport=PHONE)
    page.get_by_text("Manual entry").click()
    page.get_by_label("Find a resident").fill("Ada")
    page.get_by_role("button", name="Record IN").click()
    Gate.objects.filter(slug="main").update(is_active=False)  # closed in the admin meanwhile

    page.get_by_role("button", name="Yes, record IN").click()

    expect(page.locator("#verdict")).to_have_text("NOT RECORDED")
    expect(page.locator("#result-message")).to_contain_text("gate has been closed")
    page.get_by_role("button", name="Scan next").click()
    expect(page.locator("#gate")).to_have_value("")
    expect(page.locator("#camera-status")).to_contain_text("Which gate is this device at?")
    assert page.evaluate("localStorage.getItem('hostel.gate')") is None
    assert scan_blocks() == []


@pytest.fixture
def ben(guard) -> Resident:
    """Enrolled with ORL's s4 facing the camera: the man of the fake-camera videos."""
    warden = User.objects.get_or_create(username="wendy")[0]
    return services.resident_register(
        by=warden,
        name="Ben Example",
        room="C-3",
        photos=[uploads.photo_enrol(videos.FRONTAL.read_bytes())],
    )


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_head_that_turns_when_asked_passes_the_live_person_check(camera, ben, settings, size):
    """The camera plays s4 facing it, turned to his left, facing it, turned to his right,
    half a second each, in a loop: whichever way the server asks, he turns that way."""
    settings.FACE_LIVENESS = True
    page = camera(videos.head_turn(hold=0.5), viewport=size)
    expect(page.locator("#camera-status")).to_have_text("Point the camera at a pass.")
    page.get_by_role("button", name="Scan face").click()

    prompt = page.locator("#face-prompt")
    expect(prompt).to_have_text(re.compile(r"^Now turn your head to your (left|right)$"))
    assert fully_visible(page, "#face-prompt")
    screenshot(page, f"scan-face-turn-{size['width']}")
    expect(page.locator("#verdict")).to_have_text("IN", timeout=20_000)
    expect(page.locator("#result-name")).to_have_text("Ben Example")
    assert [(b["resident_id"], b["mode"]) for b in scan_blocks()] == [(str(ben.pk), "face")]
    # Found in a tryout: on a phone the two faces the guard compares were 109 px wide each,
    # unlabelled, over a screen mostly empty. Now half the width each, with a caption.
    for image, caption in (("#result-captured", "Now"), ("#result-photo", "On record")):
        box = page.locator(image).bounding_box()
        assert box and box["width"] >= min(0.4 * size["width"], 250), (image, box)
        expect(page.locator(f"figure:has({image}) figcaption")).to_have_text(caption)
    assert fully_visible(page, "#result-photo")
    screenshot(page, f"scan-face-result-{size['width']}")


def test_the_gate_shows_the_frame_it_identified_not_the_first(camera, ben, settings):
    """Found: the still shown beside the photo on record (and the one a warden's *Add this
    photo* adds) was the first frame taken, though the server identifies the frame facing
    the camera. Here the camera plays s4 turned to his left, to his right, then facing it,
    half a second each, so the first frame faces it only one time in three: scans go on
    until the server has named another frame (six at most), each showing the one named."""
    settings.FACE_LIVENESS = True
    settings.SCAN_DEBOUNCE_SECONDS = 0
    clips = videos.head_turn(hold=0.5)
    page = camera([clips[1], clips[3], clips[0]])
    expect(page.locator("#camera-status")).to_have_text("Point the camera at a pass.")

    named: list[int] = []
    while not any(named) and len(named) < 6:
        with page.expect_response(lambda r: r.url.endswith("/api/scan")) as answer:
            page.get_by_role("button", name="Scan face").click()
        expect(page.locator("#verdict")).to_have_text(re.compile("^(IN|OUT)$"), timeout=20_000)
        frames = answer.value.request.post_data_json["frames"]
        frame = answer.value.json()["frame"]
        assert page.locator("#result-captured").get_attribute("src") == frames[frame]
        named.append(frame)
        page.get_by_role("button", name="Scan next").click()

    assert any(named), named  # a frame other than the first was named, and shown
    assert len(scan_blocks()) == len(named)


def distance(descriptor: np.ndarray, data_url: str) -> float:
    picture = Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))
    return float(np.linalg.norm(face.face_embed(picture) - descriptor))


def test_a_warden_adds_the_frame_the_server_identified(camera, ben, settings):
    """At a live-person gate, *Add this photo* sends the frame the refusal names, not the
    first one taken (a review asked for this case). The threshold is set so low that Ben is
    refused, closest to himself; scans go on until a frame other than the first is named."""
    settings.FACE_LIVENESS = True
    settings.FACE_MATCH_THRESHOLD = 0.001
    staff_user("walter", "wardens")
    clips = videos.head_turn(hold=0.5)
    page = camera([clips[1], clips[3], clips[0]], username="walter")
    expect(page.locator("#camera-status")).to_have_text("Point the camera at a pass.")

    named: list[int] = []
    while not any(named) and len(named) < 6:
        with page.expect_response(lambda r: r.url.endswith("/api/scan")) as answer:
            page.get_by_role("button", name="Scan face").click()
        expect(page.locator("#verdict")).to_have_text("REFUSED", timeout=20_000)
        frames = answer.value.request.post_data_json["frames"]
        frame = answer.value.json()["error"]["frame"]
        page.get_by_role("button", name="Add this photo to Ben Example").click()
        expect(page.locator("#closest-status")).to_contain_text("Added: Ben Example")
        added = np.frombuffer(ben.samples.latest("created_at").embedding, dtype=np.float32)
        named_frame, first_frame = distance(added, frames[frame]), distance(added, frames[0])
        assert frame == 0 or named_frame < first_frame, (frame, named_frame, first_frame)
        named.append(frame)
        page.get_by_role("button", name="Scan next").click()

    assert any(named), named


def test_a_photo_held_up_to_the_camera_never_passes(camera, ben, settings):
    """The same man's photo, facing the camera, held up with a hand's shake: refused each of
    three times as not live, and no scan is recorded."""
    settings.FACE_LIVENESS = True
    page = camera(videos.still_photo(seconds=6))
    expect(page.locator("#camera-status")).to_have_text("Point the camera at a pass.")

    for _ in range(3):
        page.get_by_role("button", name="Scan face").click()
        expect(page.locator("#verdict")).to_have_text("REFUSED", timeout=20_000)
        expect(page.locator("#result-message")).to_contain_text("The head did not turn.")
        page.get_by_role("button", name="Scan next").click()

    assert scan_blocks() == []
    codes = [b.payload["code"] for b in Block.objects.filter(type="denied")]
    assert codes and set(codes) == {"not_live"}


def test_a_print_rocked_close_to_the_camera_never_passes(camera, ben, settings):
    """Found in review: the same man's print, 0.7 of its width from the camera, swivelled 35
    degrees to and fro. About one try in four passed the landmark-only check (all six here
    in about one run in five); now each try is refused and no scan is recorded."""
    settings.FACE_LIVENESS = True
    page = camera(videos.rocked_print())
    expect(page.locator("#camera-status")).to_have_text("Point the camera at a pass.")

    for _ in range(6):
        page.get_by_role("button", name="Scan face").click()
        expect(page.locator("#verdict")).to_have_text("REFUSED", timeout=20_000)
        page.get_by_role("button", name="Scan next").click()

    assert scan_blocks() == []
