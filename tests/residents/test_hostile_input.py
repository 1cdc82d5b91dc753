"""The API under hostile input: a clear 4xx with the error shape, never a 500."""

import io
import json
from typing import Any

import pytest
from PIL import Image
from rest_framework.test import APIClient

from ledger.models import Block
from residents import services, uploads
from residents.models import Resident

DEEP = "[" * 100_000 + "]" * 100_000


def post_raw(client: APIClient, path: str, body: str | bytes) -> Any:
    raw = body if isinstance(body, bytes) else body.encode()
    return client.generic("POST", path, raw, content_type="application/json")  # type: ignore[arg-type]


@pytest.mark.django_db
def test_json_nested_100k_deep_is_refused_on_token_and_scan(guard) -> None:
    # 200 KB: over the token endpoint's cap, so it is refused before any parsing...
    anonymous = post_raw(APIClient(), "/api/token", DEEP)
    # ...while the scan API (which takes photos as data URLs) parses it and stops at depth.
    client = APIClient()
    client.force_authenticate(guard)
    scanned = post_raw(client, "/api/scan", DEEP)

    assert anonymous.status_code == 413 and anonymous.json()["error"]["code"] == "too_large"
    assert scanned.status_code == 400 and scanned.json()["error"]["code"] == "parse_error"


@pytest.mark.django_db
def test_json_nested_deeper_than_the_limit_is_a_parse_error(guard) -> None:
    client = APIClient()
    client.force_authenticate(guard)
    body = "[" * 2000 + "]" * 2000  # small, but far too deep

    for path in ("/api/scan", "/api/token"):
        response = post_raw(client, path, body)
        assert response.status_code == 400, path
        assert response.json()["error"]["code"] == "parse_error"


@pytest.mark.django_db
def test_a_14_mb_anonymous_json_body_is_refused_before_it_is_parsed() -> None:
    body = json.dumps({"username": "x", "password": "y", "pad": "a" * (14 * 1024 * 1024)})

    response = post_raw(APIClient(), "/api/token", body)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


@pytest.mark.django_db
def test_a_face_scan_may_still_send_a_large_photo_as_a_data_url(guard, main_gate) -> None:
    client = APIClient()
    client.force_authenticate(guard)
    photo = "data:image/jpeg;base64," + "A" * (4 * 1024 * 1024)  # 3 MB of zeros, not a JPEG

    response = post_raw(client, "/api/scan", json.dumps({"mode": "face", "photo": photo}))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_photo"


@pytest.mark.django_db
def test_invalid_utf8_and_huge_numbers_are_parse_errors() -> None:
    for body in (b'{"username": "\xff"}', b'{"username": 1' + b"0" * 400 + b"}"):
        response = post_raw(APIClient(), "/api/token", body)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "parse_error"


# --- Text fields ----------------------------------------------------------------------------

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Ada\r\nOkafor"),
        ("name", ZERO_WIDTH),
        ("name", "\u202eanilemaC"),  # a right-to-left override: shows as "Camelina"
        ("name", "Ada\x00"),
        ("room", "B-2\u2067"),
        ("occupation", "nurse\x1b[31m"),
        ("emergency_contact", "Mum\n+44 20 7946 0000"),
    ],
)
def test_names_with_control_bidi_or_only_invisible_characters_are_refused(
    warden, field, value
) -> None:
    client = APIClient()
    client.force_authenticate(warden)
    body = {"name": "Ada Okafor", "room": "B-214", field: value}

    response = client.post("/api/register", body, format="json")

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["fields"]
    assert not Resident.objects.exists() and Block.objects.filter(type="register").count() == 0


@pytest.mark.django_db
def test_text_is_stored_nfc_without_invisible_edges(warden) -> None:
    decomposed = "Luci\u0301a Romero"  # "Lucía" typed with a combining accent

    resident = services.resident_register(
        by=warden, name=f"\u200b {decomposed} \ufeff", room=" B-2 ", address="Flat 2\nHigh St"
    )

    stored = Resident.objects.get(pk=resident.pk)
    assert stored.name == "Lucía Romero" and len(stored.name) == 12
    assert stored.room == "B-2" and stored.address == "Flat 2\nHigh St"


@pytest.mark.django_db
def test_a_stored_name_with_a_line_break_still_prints_its_pass(warden) -> None:
    resident = services.resident_register(by=warden, name="Ada Okafor", room="B-214")
    Resident.objects.filter(pk=resident.pk).update(name="Ada\r\nOkafor")  # from before the check
    client = APIClient()
    client.force_authenticate(warden)

    response = client.get(f"/api/residents/{resident.pk}/pass.png")

    assert response.status_code == 200 and response["Content-Type"] == "image/png"


# --- Dates at the edges of the calendar -----------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "America/Los_Angeles"])
def test_ledger_filters_at_the_ends_of_the_calendar_are_answered(warden, settings, zone) -> None:
    settings.TIME_ZONE = zone
    services.resident_register(by=warden, name="Ada Okafor", room="B-214")
    client = APIClient()
    client.force_login(warden)

    for query in ("until=9999-12-31", "since=0001-01-01", "since=0001-01-01&until=9999-12-31"):
        for path in ("/ledger/", "/ledger/export.csv", "/api/ledger"):
            response = client.get(f"{path}?{query}")
            assert response.status_code == 200, (path, query)
        assert client.get(f"/api/ledger?{query}").json()["count"] == 2  # genesis, register


# --- Photos ---------------------------------------------------------------------------------


def png_of(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(out, format="PNG", optimize=True)
    return out.getvalue()


def test_a_small_png_declaring_40_megapixels_is_refused_before_decoding() -> None:
    bomb = png_of(7700, 5160)  # 39.7 MP of white: about 120 KB

    with pytest.raises(uploads.UploadError) as caught:
        uploads.photo_normalise(bomb)

    assert len(bomb) < 200_000
    assert caught.value.code == "invalid_photo" and "send a JPEG" in str(caught.value)


def test_a_40_megapixel_jpeg_is_accepted_and_downscaled() -> None:
    out = io.BytesIO()
    Image.new("RGB", (7300, 5400), "navy").save(out, format="JPEG", quality=50)

    photo = uploads.photo_normalise(out.getvalue())

    assert max(photo.width, photo.height) == uploads.PHOTO_MAX_SIDE


def test_jpeg_comments_and_exif_do_not_survive_the_re_encode() -> None:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    out = io.BytesIO()
    Image.new("RGB", (300, 300), "red").save(
        out, format="JPEG", comment=b"GPS 51.5007,-0.1246", exif=exif
    )

    jpeg = uploads.photo_normalise(out.getvalue()).jpeg

    assert b"GPS 51.5007" not in jpeg and b"SecretCam" not in jpeg
    assert "comment" not in Image.open(io.BytesIO(jpeg)).info
