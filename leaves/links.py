"""The link on a resident's pass to ask for leave: no staff login, signed, and good as long
as the pass is (a reissued pass, or a move-out, ends it)."""

import uuid

from django.core import signing

from leaves.errors import LeaveError
from residents.models import Resident

SALT = "hostel.leave-link"


def leave_link_token(resident: Resident) -> str:
    # No timestamp: the same pass, the same link (dumps would give a new one each time).
    return signing.Signer(salt=SALT).sign_object(
        {"r": str(resident.pk), "v": resident.pass_version}
    )


def leave_link_subject(token: str) -> str | None:
    """Whose link ``token`` claims to be (a resident's id), checked by signature only: no
    database read, for the rate limit that runs before the page."""
    claim = _claim(token)
    return str(claim[0]) if claim else None


def leave_link_resident(token: str) -> Resident:
    """The resident whose current link ``token`` is; LeaveError "invalid_link" otherwise."""
    resident, version = None, None
    claim = _claim(token)
    if claim is not None:
        resident, version = Resident.objects.filter(pk=claim[0]).first(), claim[1]
    if resident is None or not resident.is_active or version != resident.pass_version:
        raise LeaveError(
            "invalid_link",
            "This link does not work (any more): ask the warden for your current pass and its "
            "link.",
        )
    return resident


def _claim(token: str) -> tuple[uuid.UUID, object] | None:
    """(resident id, pass version) that a validly signed ``token`` names, or None."""
    try:
        claim = signing.Signer(salt=SALT).unsign_object(token)
        return uuid.UUID(claim["r"]), claim.get("v")
    except (signing.BadSignature, KeyError, TypeError, AttributeError, ValueError):
        return None
