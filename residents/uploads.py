"""Photo and voice uploads: validate by content, normalise, strip metadata. Pure.

Photos: sniffed by content (JPEG, PNG or WebP, whatever the file name says), at most
MAX_UPLOAD_BYTES and MAX_PIXELS (MAX_LOSSLESS_PIXELS for PNG and WebP; checked from the
header, before decoding, so a small file that declares a huge image is refused without being
expanded), decoded in full (a truncated file is refused; JPEGs at a reduced scale), EXIF
orientation applied, downscaled to PHOTO_MAX_SIDE, re-encoded as a JPEG without any metadata
(no EXIF, so no GPS or camera serial numbers, and no comments).

Voice samples: decoded with PyAV (webm/opus, ogg, m4a, mp3, wav: what browsers and phones
record) to prove they are audio, at most MAX_UPLOAD_BYTES and VOICE_MAX_SECONDS, and stored
as 16 kHz mono 16-bit WAV, the form the voice model reads.
"""

import io
import wave
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from PIL import Image, ImageOps, UnidentifiedImageError

from hostel.errors import DomainError

if TYPE_CHECKING:
    import numpy as np

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel phone photo (JPEG: decoded at a reduced scale)
# PNG and WebP decode only at full size: 12 megapixels take ~36 MB, a 40 MP one ~290 MB.
MAX_LOSSLESS_PIXELS = 12_000_000
PHOTO_MIN_SIDE = 64
PHOTO_MAX_SIDE = 1024
# MPO: a JPEG carrying a second image (a depth or gain map), as many phones write.
PHOTO_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
VOICE_MAX_SECONDS = 30.0
VOICE_MIN_SECONDS = 0.5
VOICE_RATE = 16_000


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


Upload = Readable | bytes  # an uploaded file (Django's, or any stream), or its bytes


class UploadError(DomainError):
    """The upload is refused; the message says why in words a guard can act on. The code is
    "invalid_photo" or "invalid_voice", or the biometric refusal ("no_face", "silence"…)."""


@dataclass(frozen=True)
class Photo:
    jpeg: bytes
    width: int
    height: int
    face: "np.ndarray | None" = None  # the face descriptor, when enrolled (photo_enrol)


@dataclass(frozen=True)
class Voice:
    wav: bytes
    seconds: float
    samples: "np.ndarray"  # float32 mono at VOICE_RATE, for the voice model
    embedding: "np.ndarray | None" = None  # the speaker embedding, when enrolled


def _read_limited(stream: Upload, what: str, code: str) -> bytes:
    if isinstance(stream, bytes | bytearray):
        data = bytes(stream)
    else:
        data = stream.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(
            code, f"The {what} is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
        )
    if not data:
        raise UploadError(code, f"The {what} is empty.")
    return data


def photo_normalise(upload: Upload, *, max_side: int = PHOTO_MAX_SIDE) -> Photo:
    """Checked, upright, at most ``max_side`` pixels a side, re-encoded without metadata."""
    data = _read_limited(upload, "photo", "invalid_photo")
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise UploadError(
            "invalid_photo", "The photo is not an image (use a JPEG, PNG or WebP photo)."
        ) from None
    except Image.DecompressionBombError:
        raise UploadError(
            "invalid_photo",
            f"The photo has too many pixels; at most {MAX_PIXELS // 1_000_000} megapixels "
            "are accepted.",
        ) from None
    if image.format not in PHOTO_FORMATS:
        raise UploadError(
            "invalid_photo",
            f"{image.format or 'This'} images are not accepted; use a JPEG, PNG or WebP photo.",
        )
    width, height = image.size
    jpeg = image.format in ("JPEG", "MPO")
    limit = MAX_PIXELS if jpeg else MAX_LOSSLESS_PIXELS
    if width * height > limit:
        raise UploadError(
            "invalid_photo",
            f"The photo is {width}x{height} pixels; at most {limit // 1_000_000} megapixels "
            f"are accepted{'' if jpeg else ' in PNG or WebP (send a JPEG, or a smaller image)'}.",
        )
    if image.format != "MPO" and getattr(image, "n_frames", 1) > 1:
        raise UploadError("invalid_photo", "Animated images are not accepted; use a still photo.")
    if jpeg:
        # Decode at 1/2, 1/4 or 1/8 scale straight from the DCT coefficients: a 40-megapixel
        # photo never sits in memory at full size (it cost ~120 MB, 5 MB this way).
        image.draft(None, (max_side * 2, max_side * 2))
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise UploadError(
            "invalid_photo", "The photo is damaged or incomplete; take or upload it again."
        ) from None
    upright = ImageOps.exif_transpose(image).convert("RGB")
    if min(upright.size) < PHOTO_MIN_SIDE:
        raise UploadError(
            "invalid_photo",
            f"The photo is only {upright.width}x{upright.height} pixels; at least "
            f"{PHOTO_MIN_SIDE} pixels on each side are needed to see a face.",
        )
    upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    upright.info = {}  # nothing carried over: no EXIF (GPS, serial numbers), no comments
    out = io.BytesIO()
    upright.save(out, format="JPEG", quality=88, optimize=True)
    return Photo(out.getvalue(), upright.width, upright.height)


def photo_enrol(upload: Upload) -> Photo:
    """A resident's photo: normalised, and refused unless it shows exactly one face."""
    return photo_with_face(photo_normalise(upload))


def photo_with_face(photo: Photo) -> Photo:
    """A normalised photo with its face descriptor; refused unless it shows one face."""
    from residents.biometrics import face  # dlib and numpy load only when a face is needed

    try:
        descriptor = face.face_embed(Image.open(io.BytesIO(photo.jpeg)))
    except face.FaceError as exc:
        raise UploadError(exc.code, str(exc)) from exc
    return Photo(photo.jpeg, photo.width, photo.height, descriptor)


ENROL_MIN_SPEECH_SECONDS = 2.0  # of talking, short pauses included: a 2.5 s sentence
READ_ALOUD = "Read a sentence aloud, for 3 s or more."


def voice_enrol(upload: Upload) -> Voice:
    """A resident's voice sample: decoded, and refused without enough speech to enrol."""
    return voice_with_embedding(voice_normalise(upload))


def voice_with_embedding(sample: Voice) -> Voice:
    """A decoded voice sample with its speaker embedding; refused without enough speech."""
    from residents.biometrics import voice

    try:
        embedding = voice.voice_embed(sample.samples, min_speech=ENROL_MIN_SPEECH_SECONDS)
    except voice.VoiceError as exc:
        how = (
            ""
            if exc.code == "too_short"
            else f" Enrolment needs {ENROL_MIN_SPEECH_SECONDS:g} s of talking."
        )
        raise UploadError(exc.code, f"{exc}{how} {READ_ALOUD}") from exc
    return Voice(sample.wav, sample.seconds, sample.samples, embedding)


def voice_normalise(upload: Upload) -> Voice:
    import av  # imported here: PyAV and numpy are heavy, and most processes never need them
    import numpy as np

    data = _read_limited(upload, "voice recording", "invalid_voice")
    chunks = []
    total = 0
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise UploadError(
                    "invalid_voice",
                    "The voice recording holds no audio (is it a photo, or a video without "
                    "sound?). Use webm, ogg, m4a, mp3 or wav.",
                )
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="s16", layout="mono", rate=VOICE_RATE)
            limit = int((VOICE_MAX_SECONDS + 0.5) * VOICE_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    chunks.append(chunk)
                    total += chunk.size
                if total > limit:
                    raise UploadError(
                        "invalid_voice",
                        f"The voice recording is longer than {VOICE_MAX_SECONDS:.0f} seconds.",
                    )
            for out in resampler.resample(None):
                chunk = out.to_ndarray().reshape(-1)
                chunks.append(chunk)
                total += chunk.size
    except UploadError:
        raise
    except (av.error.FFmpegError, ValueError, IndexError):
        raise UploadError(
            "invalid_voice",
            "The voice recording could not be read as audio (use webm, ogg, m4a, mp3 or wav).",
        ) from None
    seconds = total / VOICE_RATE
    if seconds > VOICE_MAX_SECONDS:
        raise UploadError(
            "invalid_voice", f"The voice recording is longer than {VOICE_MAX_SECONDS:.0f} seconds."
        )
    if seconds < VOICE_MIN_SECONDS:
        raise UploadError("invalid_voice", "The voice recording is too short.")
    pcm = np.concatenate(chunks).astype(np.int16)
    return Voice(wav_bytes(pcm, VOICE_RATE), seconds, pcm.astype(np.float32) / 32768.0)


def wav_bytes(pcm: "np.ndarray", rate: int) -> bytes:
    """16-bit mono ``pcm`` samples as a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm.tobytes())
    return out.getvalue()
