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


def visitor_pass_claim(token: str) -> VisitorPassClaim | None:
    """What a token says if this server signed it as a visitor's pass (any day), else None."""
    try:
        claim = signing.Signer(salt=SALT).unsign_object(token)
        return VisitorPassClaim(uuid.UUID(claim["v"]), date.fromisoformat(claim["d"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError, AttributeError):
        return None


def visitor_pass_read(token: str, *, today: date | None = None) -> VisitorPassClaim:
    """The claim of a valid pass for today; VisitorPassError saying why otherwise."""
    claim = visitor_pass_claim(token)
    if claim is None:
        raise VisitorPassError("This is not a visitor's pass of this hostel.")
    day = claim.day
    if day != (today or timezone.localdate()):
        raise VisitorPassError(f"This visitor's pass was for {day:%a %d %b}; it has expired.")
    return claim
