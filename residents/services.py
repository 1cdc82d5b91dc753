"""The only code that writes residents. Each change and its ledger block commit together.

Uploads arrive already normalised (residents.uploads.Photo / Voice); files are written
inside the transaction and removed again if it does not commit, so a refused or failed
registration leaves no row, no block and no file behind.
"""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from ledger.services import block_append
from residents.models import Resident
from residents.uploads import Photo, Voice

# What resident_register and resident_update accept besides name and room.
DETAIL_FIELDS = (
    "floor",
    "email",
    "phone",
    "address",
    "move_in_date",
    "occupation",
    "emergency_contact",
)
EDITABLE_FIELDS = ("name", "room", *DETAIL_FIELDS)


class ResidentError(Exception):
    """The change is not allowed in the resident's current state; nothing was written."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def resident_register(
    *,
    by: AbstractBaseUser,
    name: str,
    room: str,
    photo: Photo | None = None,
    voice: Voice | None = None,
    **details: Any,
) -> Resident:
    """Register a resident (with an optional photo and voice sample) and log a block."""
    unknown = set(details) - set(DETAIL_FIELDS)
    if unknown:
        raise TypeError(f"unknown resident fields: {', '.join(sorted(unknown))}")
    resident = Resident(name=_clean(name), room=_clean(room), created_by=by, **_cleaned(details))
    resident.full_clean(exclude=["photo", "voice_sample", "created_by"])
    with _files_kept_only_on_commit() as keep, transaction.atomic():
        if photo is not None:
            keep(_store(resident.photo, photo.jpeg, "jpg"))
        if voice is not None:
            keep(_store(resident.voice_sample, voice.wav, "wav"))
        resident.save(force_insert=True)
        _log(resident, "register", by)
    return resident


def resident_update(
    *,
    resident: Resident,
    by: AbstractBaseUser,
    photo: Photo | None = None,
    voice: Voice | None = None,
    **changes: Any,
) -> Resident:
    """Change a resident's details; logs one block naming the changed fields (none if none)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    changes = _cleaned(changes)
    with _files_kept_only_on_commit() as keep, transaction.atomic():
        current = Resident.objects.select_for_update().get(pk=resident.pk)
        changed = [field for field, value in changes.items() if getattr(current, field) != value]
        for field in changed:
            setattr(current, field, changes[field])
        current.full_clean(exclude=["photo", "voice_sample", "created_by"])
        replaced = []
        if photo is not None:
            replaced.append(current.photo.name)
            keep(_store(current.photo, photo.jpeg, "jpg"))
            changed.append("photo")
        if voice is not None:
            replaced.append(current.voice_sample.name)
            keep(_store(current.voice_sample, voice.wav, "wav"))
            changed.append("voice_sample")
        if not changed:
            return current
        current.save(update_fields=[*changed, "updated_at"])
        _log(current, "update", by, changed=sorted(changed))
        transaction.on_commit(lambda: _delete_files(replaced))
    return current


def resident_deactivate(
    *, resident: Resident, by: AbstractBaseUser, moved_out_on: date | None = None
) -> Resident:
    """Record that a resident moved out: their pass stops working; history stays."""
    with transaction.atomic():
        current = Resident.objects.select_for_update().get(pk=resident.pk)
        if not current.is_active:
            raise ResidentError(f"{current.name} has already moved out.", code="inactive")
        current.is_active = False
        current.moved_out_on = moved_out_on or timezone.localdate()
        current.save(update_fields=["is_active", "moved_out_on", "updated_at"])
        _log(current, "deactivate", by, moved_out_on=current.moved_out_on.isoformat())
    return current


def pass_reissue(*, resident: Resident, by: AbstractBaseUser) -> Resident:
    """Issue a new pass: the version goes up and every older printout stops working."""
    with transaction.atomic():
        current = Resident.objects.select_for_update().get(pk=resident.pk)
        if not current.is_active:
            raise ResidentError(
                f"{current.name} has moved out; their pass cannot be reissued.", code="inactive"
            )
        current.pass_version += 1
        current.save(update_fields=["pass_version", "updated_at"])
        _log(current, "pass_reissue", by, pass_version=current.pass_version)
    return current


# --- Helpers --------------------------------------------------------------------------------


def _log(resident: Resident, kind: str, by: AbstractBaseUser, **extra: Any) -> None:
    block_append(
        data={
            "type": kind,
            "resident_id": str(resident.id),
            "resident_name": resident.name,
            "room": resident.room,
            "by": by.get_username(),
            **extra,
        }
    )


def _clean(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _cleaned(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = {field: _clean(value) for field, value in values.items()}
    if cleaned.get("floor") == "":
        cleaned["floor"] = None
    return cleaned


def _store(field: Any, content: bytes, extension: str) -> str:
    field.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(content), save=False)
    return field.name


@contextmanager
def _files_kept_only_on_commit() -> Iterator[Callable[[str], None]]:
    """Collect the names of files written inside the block; delete them if it raises."""
    written: list[str] = []
    try:
        yield written.append
    except BaseException:
        _delete_files(written)
        raise


def _delete_files(names: list[str]) -> None:
    for name in names:
        if name:
            default_storage.delete(name)
