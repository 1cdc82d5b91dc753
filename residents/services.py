"""The only code that writes residents: their lifecycle. Each change and its ledger block
commit together.

Uploads arrive normalised (residents.uploads.Photo / Voice); a photo or voice sample that
its caller did not enrol is enrolled here, and refused unless it shows exactly one face (or
holds enough speech). Files are written inside the transaction and removed again if it
does not commit, so a refused or failed registration leaves no row, no block and no file.
The gate's scans live in residents.scans.
"""

import contextlib
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ledger.services import block_append
from residents import selectors, uploads
from residents.errors import ResidentError
from residents.models import Resident
from residents.storage import file_store, files_delete_on_commit, files_kept_only_on_commit
from residents.text import text_normalise
from residents.uploads import Photo, Voice

if TYPE_CHECKING:
    import numpy as np

Staff = AbstractBaseUser | AnonymousUser


class ResidentDetails(TypedDict, total=False):
    """What resident_register accepts besides name and room."""

    floor: int | None
    email: str
    phone: str
    address: str
    move_in_date: date | None
    occupation: str
    emergency_contact: str


class ResidentChanges(ResidentDetails, total=False):
    """What resident_update can change."""

    name: str
    room: str


DETAIL_FIELDS = tuple(ResidentDetails.__annotations__)
EDITABLE_FIELDS = ("name", "room", *DETAIL_FIELDS)
# What only the services set (and staff may read): the state a resident's events leave.
RECORDED_FIELDS = (
    "status",
    "status_changed_at",
    "is_active",
    "moved_out_on",
    "pass_version",
    "created_at",
    "updated_at",
)
FACE_FIELDS = ["face_embedding", "face_model", "face_enrolled_at"]
VOICE_FIELDS = ["voice_embedding", "voice_model", "voice_enrolled_at"]


def resident_register(
    *,
    by: Staff,
    name: str,
    room: str,
    photo: Photo | None = None,
    voice: Voice | None = None,
    same_face_confirmed: bool = False,
    **details: Unpack[ResidentDetails],
) -> Resident:
    """Register a resident (with an optional photo and voice sample) and log a block.

    Refused when another resident has the email address (in any case), and when the photo
    shows the face of an active resident, unless staff confirmed ``same_face_confirmed``
    that this is someone else (a twin, a look-alike).
    """
    unknown = set(details) - set(DETAIL_FIELDS)
    if unknown:
        raise TypeError(f"unknown resident fields: {', '.join(sorted(unknown))}")
    resident = Resident(
        name=_clean(name), room=_clean(room), created_by=_user(by), **_cleaned(dict(details))
    )
    _full_clean(resident)
    if photo is not None:
        photo = _photo_checked(photo, resident, same_face_confirmed)
    with (
        _email_taken_on_race(resident),
        files_kept_only_on_commit() as keep,
        transaction.atomic(),
    ):
        if photo is not None:
            keep(_enrol_photo(resident, photo))
        if voice is not None:
            keep(_enrol_voice(resident, voice))
        resident.save(force_insert=True)
        _log(resident, "register", by)
    return resident


def resident_update(
    *,
    resident: Resident,
    by: Staff,
    photo: Photo | None = None,
    voice: Voice | None = None,
    same_face_confirmed: bool = False,
    **changes: Unpack[ResidentChanges],
) -> Resident:
    """Change a resident's details; logs one block naming the changed fields (none if none).
    The same refusals as resident_register (a taken email, another resident's face)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    cleaned = _cleaned(dict(changes))
    if photo is not None:
        photo = _photo_checked(photo, resident, same_face_confirmed)
    with (
        _email_taken_on_race(resident),
        files_kept_only_on_commit() as keep,
        transaction.atomic(),
    ):
        current = Resident.objects.select_for_update().get(pk=resident.pk)
        changed = [field for field, value in cleaned.items() if getattr(current, field) != value]
        for field in changed:
            setattr(current, field, cleaned[field])
        _full_clean(current)
        replaced, enrolled = [], []
        if photo is not None:
            replaced.append(current.photo.name)
            keep(_enrol_photo(current, photo))
            changed.append("photo")
            enrolled += FACE_FIELDS
        if voice is not None:
            replaced.append(current.voice_sample.name)
            keep(_enrol_voice(current, voice))
            changed.append("voice_sample")
            enrolled += VOICE_FIELDS
        if not changed:
            return current
        current.save(update_fields=[*changed, *enrolled, "updated_at"])
        _log(current, "update", by, changed=sorted(changed))
        files_delete_on_commit(replaced)
    return current


def resident_deactivate(
    *, resident: Resident, by: Staff, moved_out_on: date | None = None
) -> Resident:
    """Record that a resident moved out: their pass stops working; history stays."""
    with transaction.atomic():
        current = Resident.objects.select_for_update().get(pk=resident.pk)
        if not current.is_active:
            raise ResidentError("inactive", f"{current.name} has already moved out.")
        moved_out_on = moved_out_on or timezone.localdate()
        if moved_out_on > timezone.localdate():
            raise ResidentError("invalid", "A move-out date cannot be in the future.")
        moved_in = current.move_in_date or timezone.localtime(current.created_at).date()
        if moved_out_on < moved_in:
            raise ResidentError(
                "invalid",
                f"{current.name} moved in on {moved_in}: they cannot have moved out before.",
            )
        current.is_active = False
        current.moved_out_on = moved_out_on
        current.save(update_fields=["is_active", "moved_out_on", "updated_at"])
        _log(current, "deactivate", by, moved_out_on=current.moved_out_on.isoformat())
    return current


def resident_reactivate(*, resident: Resident, by: Staff) -> Resident:
    """Move a resident back in: active again, with a new pass (any card kept from before
    stops working) and no status until their next scan (where they were when they left says
    nothing now); their history stays."""
    with transaction.atomic():
        current = Resident.objects.select_for_update().get(pk=resident.pk)
        if current.is_active:
            raise ResidentError("active", f"{current.name} already lives here.")
        current.is_active = True
        current.moved_out_on = None
        current.pass_version += 1
        current.status = current.status_changed_at = None  # not known again until a scan
        current.save(
            update_fields=[
                "is_active",
                "moved_out_on",
                "pass_version",
                "status",
                "status_changed_at",
                "updated_at",
            ]
        )
        _log(current, "reactivate", by, pass_version=current.pass_version)
    return current


def resident_status_set(*, resident: Resident, by: Staff, status: str) -> Resident:
    """Set whether a resident is in or out by hand (one who was never scanned, or a gate that
    was passed without a scan); the ledger records who did it, and the status replay reads
    it like a scan."""
    if status not in Resident.Status.values:
        raise ResidentError("invalid", f"A status is IN or OUT, not {status!r}.")
    with transaction.atomic():
        current = Resident.objects.select_for_update().get(pk=resident.pk)
        if not current.is_active:
            raise ResidentError("inactive", f"{current.name} has moved out.")
        if current.status == status:
            raise ResidentError("unchanged", f"{current.name} is already {status}.")
        current.status = status
        current.status_changed_at = timezone.now()
        current.save(update_fields=["status", "status_changed_at", "updated_at"])
        _log(current, "status", by, status=status)
    return current


def pass_reissue(*, resident: Resident, by: Staff) -> Resident:
    """Issue a new pass: the version goes up and every older printout stops working."""
    with transaction.atomic():
        current = Resident.objects.select_for_update().get(pk=resident.pk)
        if not current.is_active:
            raise ResidentError(
                "inactive", f"{current.name} has moved out; their pass cannot be reissued."
            )
        current.pass_version += 1
        current.save(update_fields=["pass_version", "updated_at"])
        _log(current, "pass_reissue", by, pass_version=current.pass_version)
    return current


# --- Helpers --------------------------------------------------------------------------------


def _log(resident: Resident, kind: str, by: Staff, **extra: str | list[str] | int) -> None:
    block_append(
        data={
            "type": kind,
            "resident_id": str(resident.id),
            "resident_name": resident.name,
            "room": resident.room,
            "by": by.get_username(),
            **extra,
        },
        subject=str(resident.id),
    )


def _full_clean(resident: Resident) -> None:
    """The model's validation, the email's unique constraint included: a taken address is
    the service's duplicate_email refusal, not a bare validation error."""
    try:
        resident.full_clean(exclude=["photo", "voice_sample", "created_by"])
    except ValidationError as exc:
        general = exc.error_dict.get(NON_FIELD_ERRORS, []) if hasattr(exc, "error_dict") else []
        if any(error.code == "duplicate_email" for error in general):
            raise _email_taken(resident) from exc
        raise


def _email_taken(resident: Resident) -> ResidentError:
    return ResidentError(
        "duplicate_email", f"Another resident already has the email address {resident.email}."
    )


@contextlib.contextmanager
def _email_taken_on_race(resident: Resident) -> Iterator[None]:
    """The unique constraint, for two registrations with one address at the same moment."""
    try:
        yield
    except IntegrityError as exc:
        taken = resident.email and selectors.email_taken(resident.email, exclude=resident.pk)
        if "residents_email_unique" not in str(exc) and not taken:
            raise
        raise _email_taken(resident) from exc


def _photo_checked(photo: Photo, resident: Resident, same_face_confirmed: bool) -> Photo:
    """The photo with its face descriptor; refused (UploadError) without one face, and
    (ResidentError) when it is another resident's face that staff did not confirm. Before
    the transaction: reading the gallery must not hold the write lock."""
    if photo.face is None:  # not enrolled by the caller: find the one face now
        photo = uploads.photo_with_face(photo)
    assert photo.face is not None
    if not same_face_confirmed:
        twin = selectors.face_lookalike(photo.face, exclude=resident.pk)
        if twin is not None:
            raise lookalike_refusal(twin)
    return photo


def lookalike_refusal(twin: Resident) -> ResidentError:
    """The refusal of a photo that shows ``twin``'s face, naming them."""
    where = (
        f"(room {twin.room}), who already lives here"
        if twin.is_active
        else f"(room {twin.room}), who moved out on {twin.moved_out_on}: if it is them, open "
        "their page and use Move back in"
    )
    return ResidentError(
        "duplicate_face",
        f"This photo looks like {twin.name} {where}. If this is someone else, confirm it and "
        "register again.",
        resident=twin,
    )


def _enrol_photo(resident: Resident, photo: Photo) -> str:
    """Store the photo (checked by _photo_checked) and its face descriptor."""
    from residents.biometrics import face

    assert photo.face is not None
    _enrol(resident, "face", photo.face, face.MODEL)
    return file_store(resident.photo, photo.jpeg, "jpg")


def _enrol_voice(resident: Resident, voice: Voice) -> str:
    """Store the sample and its voiceprint; refused (UploadError) without enough speech."""
    from residents.biometrics import voice as voices

    if voice.embedding is None:
        voice = uploads.voice_with_embedding(voice)
    _enrol(resident, "voice", voice.embedding, voices.MODEL)
    return file_store(resident.voice_sample, voice.wav, "wav")


def _enrol(resident: Resident, prefix: str, embedding: "np.ndarray | None", model: str) -> None:
    assert embedding is not None  # the enrol helpers above refuse what has none
    setattr(resident, f"{prefix}_embedding", embedding.astype("float32").tobytes())
    setattr(resident, f"{prefix}_model", model)
    setattr(resident, f"{prefix}_enrolled_at", timezone.now())


def _user(by: Staff) -> User | None:
    return by if isinstance(by, User) else None


def _clean(value: Any) -> Any:
    return text_normalise(value) if isinstance(value, str) else value


def _cleaned(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = {field: _clean(value) for field, value in values.items()}
    if cleaned.get("floor") == "":
        cleaned["floor"] = None
    return cleaned
