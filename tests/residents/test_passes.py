import io
import uuid

import pytest
import zxingcpp
from PIL import Image

from residents import passes, services


def decode(png: bytes) -> list[str]:
    """The QR codes in the image, as the gate's reader (jsQR) sees them: QR only. Searching
    every symbology now and then also "found" a short 1D code among the QR's modules."""
    image = Image.open(io.BytesIO(png))
    found = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    return [result.text for result in found]


def test_a_token_names_the_resident_and_pass_version() -> None:
    resident_id = uuid.uuid4()

    claim = passes.pass_read(passes.pass_token(resident_id, 4))

    assert claim == passes.PassClaim(resident_id, 4)


def test_the_token_is_signed_not_a_bare_uuid() -> None:
    resident_id = uuid.uuid4()
    token = passes.pass_token(resident_id, 1)

    assert token != str(resident_id)
    with pytest.raises(passes.PassError, match="not a hostel pass"):
        passes.pass_read(f"{resident_id}.1")
    with pytest.raises(passes.PassError, match="forged, altered or from another system"):
        passes.pass_read(token.replace(".1:", ".2:"))  # a hand-bumped version


@pytest.mark.parametrize("text", ["https://example.org/menu", "4006381333931", "hello"])
def test_any_other_qr_code_is_not_called_forged(text) -> None:
    with pytest.raises(passes.PassError, match=r"^This QR code is not a hostel pass\.$"):
        passes.pass_read(text)


@pytest.mark.parametrize(
    "token", ["", "   ", "garbage", "x" * 500, "a:b:c", "https://evil.example"]
)
def test_mangled_tokens_are_refused_clearly(token) -> None:
    with pytest.raises(passes.PassError):
        passes.pass_read(token)


def test_a_token_signed_with_another_secret_is_refused(settings) -> None:
    token = passes.pass_token(uuid.uuid4(), 1)
    settings.SECRET_KEY = "some other installation's secret key, long enough to look real"

    with pytest.raises(passes.PassError, match="forged"):
        passes.pass_read(token)


def test_passes_survive_a_secret_key_rotation_with_the_old_key_as_fallback(settings) -> None:
    resident_id = uuid.uuid4()
    printed = passes.pass_token(resident_id, 1)
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "the new secret key after a rotation, long enough to be plausible"
    settings.SECRET_KEY_FALLBACKS = [old_key]

    assert passes.pass_read(printed).resident_id == resident_id


def test_the_qr_png_decodes_to_the_token() -> None:
    token = passes.pass_token(uuid.uuid4(), 2)

    assert decode(passes.qr_png(token)) == [token]


def test_the_pass_card_shows_a_readable_qr(resident) -> None:
    token = passes.pass_token(resident.pk, resident.pass_version)
    with resident.photo.open("rb") as photo:
        card = passes.card_png(
            token=token,
            name=resident.name,
            room=resident.room,
            photo_jpeg=photo.read(),
            title="Resident pass",
        )

    assert Image.open(io.BytesIO(card)).size == passes.CARD_SIZE
    assert decode(card) == [token]


def test_reissuing_makes_the_printed_pass_stale(resident, warden, client) -> None:
    client.force_login(warden)
    printed = decode(client.get(f"/residents/{resident.pk}/qr.png").content)[0]

    services.pass_reissue(resident=resident, by=warden)

    resident.refresh_from_db()
    current = decode(client.get(f"/residents/{resident.pk}/qr.png").content)[0]
    assert passes.pass_read(printed).version == 1
    assert passes.pass_read(current).version == resident.pass_version == 2
    assert printed != current


def test_a_moved_out_resident_has_no_pass_to_print(resident, warden, client) -> None:
    client.force_login(warden)
    services.resident_deactivate(resident=resident, by=warden)

    assert client.get(f"/residents/{resident.pk}/qr.png").status_code == 404
    assert client.get(f"/residents/{resident.pk}/pass.png").status_code == 404
    assert "no longer works" in client.get(f"/residents/{resident.pk}/pass").content.decode()


def test_the_png_download_is_an_attachment_with_the_card(resident, guard, client) -> None:
    client.force_login(guard)

    response = client.get(f"/residents/{resident.pk}/pass.png")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith('attachment; filename="pass-B-214-')
    assert response["Cache-Control"] == "private, no-store"
    assert decode(response.content) == [passes.pass_token(resident.pk, 1)]
