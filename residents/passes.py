"""QR passes: the signed token a pass carries, and the pass rendered as PNG. No models.

The token is ``<resident uuid>.<pass version>:<signature>``, signed with SECRET_KEY under a
salt of its own (django.core.signing). Reissuing a pass bumps the version, so a printout of
an older one stops working; whether a version is current, and whether the resident is still
active, is for the caller to check against the database.
"""

import io
import re
import unicodedata
import uuid
from dataclasses import dataclass

import qrcode
import qrcode.constants
from django.core import signing
from PIL import Image, ImageDraw, ImageFont, ImageOps
from qrcode.image.pil import PilImage

SALT = "hostel.residents.pass"
CARD_SIZE = (640, 1000)


class PassError(ValueError):
    """The token is not a pass this server issued; the message says how it is wrong."""


@dataclass(frozen=True)
class PassClaim:
    resident_id: uuid.UUID
    version: int


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT)


_PASS_SHAPE = re.compile(
    r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\.\d{1,10}:[A-Za-z0-9_-]{10,100}"
)


def pass_token(resident_id: uuid.UUID, version: int) -> str:
    return _signer().sign(f"{resident_id}.{version}")


def pass_read(token: str) -> PassClaim:
    """The resident and pass version a token names, if this server signed it."""
    token = (token or "").strip()
    if not token:
        raise PassError("No pass was read.")
    if len(token) > 200 or not _PASS_SHAPE.fullmatch(token):
        # Any other QR code (a URL, a product label): not a forgery, just not a pass.
        raise PassError("This QR code is not a hostel pass.")
    try:
        value = _signer().unsign(token)
    except signing.BadSignature:
        raise PassError(
            "This pass does not carry this hostel's signature: it is forged, altered or from "
            "another system."
        ) from None
    resident, _, version = value.partition(".")
    try:
        return PassClaim(uuid.UUID(resident), int(version))
    except ValueError:
        raise PassError("This is not a hostel pass.") from None


def qr_png(token: str, *, scale: int = 10) -> bytes:
    """The token as a QR code (error correction M, a 4-module quiet zone), 1-bit PNG."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=scale, border=4
    )
    code.add_data(token)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image(image_factory=PilImage).save(out, format="PNG")
    return out.getvalue()


def pass_filename(*, room: str, resident_id: uuid.UUID) -> str:
    """A download name for a pass card that is safe in any file system and header."""
    room = "".join(c for c in room if c.isalnum() or c in "-_") or "room"
    return f"pass-{room}-{resident_id.hex[:8]}.png"


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def card_png(*, token: str, name: str, room: str, photo_jpeg: bytes | None, title: str) -> bytes:
    """A printable pass card: title, photo, name, room and the QR code."""
    name, room = _one_line(name), _one_line(room)
    width, _height = CARD_SIZE
    card = Image.new("RGB", CARD_SIZE, "white")
    draw = ImageDraw.Draw(card)
    draw.rectangle((0, 0, width, 90), fill="#1f3a5f")
    draw.text((width // 2, 45), title, fill="white", font=_font(40), anchor="mm")
    if photo_jpeg:
        photo = Image.open(io.BytesIO(photo_jpeg)).convert("RGB")
        photo = ImageOps.fit(photo, (260, 300))
        card.paste(photo, ((width - 260) // 2, 120))
    else:
        draw.rectangle(((width - 260) // 2, 120, (width + 260) // 2, 420), outline="#999999")
        draw.text((width // 2, 270), "no photo", fill="#999999", font=_font(28), anchor="mm")
    draw.text(
        (width // 2, 465),
        _fit(draw, name, 40, width - 40),
        fill="black",
        font=_font(40),
        anchor="mm",
    )
    draw.text((width // 2, 515), f"Room {room}", fill="#333333", font=_font(32), anchor="mm")
    qr = Image.open(io.BytesIO(qr_png(token, scale=8))).convert("RGB")
    qr.thumbnail((420, 420), Image.Resampling.NEAREST)
    card.paste(qr, ((width - qr.width) // 2, 555))
    out = io.BytesIO()
    card.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _one_line(text: str) -> str:
    """Text as one printable line: control characters (a stored CR/LF) become spaces."""
    return " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in text).split())


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, max_width: int) -> str:
    font = _font(size)
    if draw.textlength(text, font=font) <= max_width:
        return text
    while text and draw.textlength(text + "…", font=font) > max_width:
        text = text[:-1]
    return text + "…"
