"""A visitor's day pass: a signed token naming the visitor and the day, good until that day
ends (local time); its QR code is not a resident's pass (another salt)."""

import uuid
from dataclasses import dataclass
from datetime import date

from django.core import signing
from django.utils import timezone

SALT = "hostel.visitor-pass"


class VisitorPassError(Exception):
    pass


@dataclass(frozen=True)
class VisitorPassClaim:
    visitor_id: uuid.UUID
    day: date


def visitor_pass_token(visitor_id: uuid.UUID, day: date) -> str:
    return signing.Signer(salt=SALT).sign_object({"v": str(visitor_id), "d": day.isoformat()})


def visitor_pass_read(token: str, *, today: date | None = None) -> VisitorPassClaim:
    """The claim of a valid pass for today; VisitorPassError saying why otherwise."""
    try:
        claim = signing.Signer(salt=SALT).unsign_object(token)
        visitor_id, day = uuid.UUID(claim["v"]), date.fromisoformat(claim["d"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise VisitorPassError("This is not a visitor's pass of this hostel.") from None
    if day != (today or timezone.localdate()):
        raise VisitorPassError(f"This visitor's pass was for {day:%a %d %b}; it has expired.")
    return VisitorPassClaim(visitor_id, day)
