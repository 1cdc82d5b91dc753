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


def leave_link_resident(token: str) -> Resident:
    """The resident whose current link ``token`` is; LeaveError "invalid_link" otherwise."""
    refused = LeaveError(
        "invalid_link",
        "This link does not work (any more): ask the warden for your current pass and its link.",
    )
    try:
        claim = signing.Signer(salt=SALT).unsign_object(token)
    except signing.BadSignature:
        raise refused from None
    if not isinstance(claim, dict) or not isinstance(claim.get("r"), str):
        raise refused
    resident = Resident.objects.filter(pk=claim["r"]).first() if _uuid(claim["r"]) else None
    if resident is None or not resident.is_active or claim.get("v") != resident.pass_version:
        raise refused
    return resident


def _uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
