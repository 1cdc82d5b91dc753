"""The upload battery, on the pure functions (the API and pages are tested separately)."""

import io
import struct
import zlib

import pytest
from PIL import Image

from residents import uploads
from tests.residents.conftest import photo_bytes, tone_wav, webm_opus


def jpeg_with_gps() -> bytes:
    image = Image.open(io.BytesIO(photo_bytes()))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (51.0, 30.0, 26.0)
    gps[3], gps[4] = "W", (0.0, 7.0, 39.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (200, 200), color) for color in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    return out.getvalue()


def test_a_real_photo_is_re_encoded_as_a_plain_jpeg() -> None:
    photo = uploads.photo_normalise(photo_bytes())

    image = Image.open(io.BytesIO(photo.jpeg))
    assert image.format == "JPEG"
    assert (photo.width, photo.height) == image.size == (640, 480)


def test_gps_and_every_other_exif_tag_are_stripped() -> None:
    original = Image.open(io.BytesIO(jpeg_with_gps()))
    assert original.getexif().get_ifd(0x8825)  # the test photo really carries GPS

    photo = uploads.photo_normalise(jpeg_with_gps())

    stored = Image.open(io.BytesIO(photo.jpeg))
    assert not stored.getexif()
    assert b"Exif" not in photo.jpeg[:4096] and b"PhoneMaker" not in photo.jpeg


def test_an_exif_rotated_photo_is_stored_upright() -> None:
    raw = Image.open(io.BytesIO(photo_bytes("obama_exif_orient6.jpg")))
    assert raw.getexif().get(0x0112) == 6 and raw.width > raw.height  # stored sideways

    photo = uploads.photo_normalise(photo_bytes("obama_exif_orient6.jpg"))

    assert photo.height > photo.width  # portrait once rotated


def test_large_photos_are_downscaled_to_1024_pixels() -> None:
    big = io.BytesIO()
    Image.new("RGB", (4000, 3000), "gray").save(big, format="PNG")

    photo = uploads.photo_normalise(big.getvalue())

    assert max(photo.width, photo.height) == 1024


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello, I am a text file pretending to be a JPEG\n" * 20, "not an image"),
        (photo_bytes()[:20_000], "damaged or incomplete"),
        (png_declaring(20_000, 20_000), "megapixels"),
        (animated_gif(), "GIF images are not accepted"),
        (b"\xff\xd8\xff" + b"\x00" * (15 * 1024 * 1024), "larger than 10 MB"),
        (b"", "empty"),
    ],
    ids=["text-as-jpg", "truncated-jpeg", "png-bomb", "animated-gif", "15-mb", "empty"],
)
def test_bad_photos_are_refused_with_a_clear_message(content, message) -> None:
    with pytest.raises(uploads.UploadError, match=message):
        uploads.photo_normalise(content)


def test_a_one_pixel_image_is_refused() -> None:
    tiny = io.BytesIO()
    Image.new("RGB", (1, 1)).save(tiny, format="PNG")

    with pytest.raises(uploads.UploadError, match="only 1x1 pixels"):
        uploads.photo_normalise(tiny.getvalue())


def test_an_animated_webp_is_refused() -> None:
    frames = [Image.new("RGB", (200, 200), color) for color in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, format="WEBP", save_all=True, append_images=frames[1:], duration=100)

    with pytest.raises(uploads.UploadError, match="Animated"):
        uploads.photo_normalise(out.getvalue())


def test_a_wav_recording_is_stored_as_16khz_mono_wav() -> None:
    voice = uploads.voice_normalise(tone_wav(4, rate=44_100))

    assert voice.wav[:4] == b"RIFF"
    assert voice.seconds == pytest.approx(4, abs=0.05)
    assert voice.samples.size == pytest.approx(4 * 16_000, abs=800)


def test_a_browser_webm_opus_recording_is_decoded() -> None:
    voice = uploads.voice_normalise(webm_opus())

    assert voice.seconds == pytest.approx(3.88, abs=0.1)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (photo_bytes(), "could not be read as audio|holds no audio"),
        (b"RIFF....WAVEfmt garbage" * 10, "could not be read as audio"),
        (tone_wav(40), "longer than 30 seconds"),
        (tone_wav(0.2), "too short"),
        (b"\x00" * (11 * 1024 * 1024), "larger than 10 MB"),
    ],
    ids=["photo-as-voice", "garbage-wav", "40-seconds", "too-short", "11-mb"],
)
def test_bad_voice_samples_are_refused_with_a_clear_message(content, message) -> None:
    with pytest.raises(uploads.UploadError, match=message):
        uploads.voice_normalise(content)


def test_a_phone_mpo_jpeg_is_accepted_as_its_first_picture() -> None:
    first = Image.open(io.BytesIO(photo_bytes()))
    second = first.resize((320, 240))
    out = io.BytesIO()
    first.save(out, format="MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(out.getvalue())).format == "MPO"

    photo = uploads.photo_normalise(out.getvalue())

    assert (photo.width, photo.height) == (640, 480)
