"""The only code that writes residents: their lifecycle. Each change and its ledger block
commit together.

Uploads arrive normalised (residents.uploads.Photo / Voice); a photo or voice sample that
its caller did not enrol is enrolled here, and refused unless it shows exactly one face (or
holds enough speech). Files are written inside the transaction and removed again if it
does not commit, so a refused or failed registration leaves no row, no block and no file.
The gate's scans live in residents.scans.
"""

import contextlib
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from ledger.services import block_append, block_append_many
from residents import scans, selectors, uploads
from residents.biometrics import face, voice
from residents.errors import ImportRefused, ResidentError
from residents.models import Resident, Sample
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
    guardian_email: str


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
FACE = Sample.Kind.FACE.value
VOICE = Sample.Kind.VOICE.value
FACE_SAMPLES_MAX = 5
VOICE_SAMPLES_MAX = 3
FACE_FIELDS = ["face_embedding", "face_model", "face_enrolled_at"]
VOICE_FIELDS = ["voice_embedding", "voice_model", "voice_enrolled_at"]


def resident_register(
    *,
    by: Staff,
    name: str,
    room: str,
    photos: Sequence[Photo] = (),
    voices: Sequence[Voice] = (),
    same_face_confirmed: bool = False,
    **details: Unpack[ResidentDetails],
) -> Resident:
    """Register a resident (with up to FACE_SAMPLES_MAX photos and VOICE_SAMPLES_MAX voice
    recordings, all optional) and log a block. The first photo is the one shown at the gate.

    Refused when another resident has the email address (in any case), when a photo shows
    the face of another resident, unless staff confirmed ``same_face_confirmed`` that this
    is someone else (a twin, a look-alike), and when the photos (or recordings) are not all
    of one person.
    """
    unknown = set(details) - set(DETAIL_FIELDS)
    if unknown:
        raise TypeError(f"unknown resident fields: {', '.join(sorted(unknown))}")
    resident = Resident(
        name=_clean(name), room=_clean(room), created_by=_user(by), **_cleaned(dict(details))
    )
    _full_clean(resident)
    faces = _photos_checked(photos, resident, same_face_confirmed)
    speakers = _voices_checked(voices)
    with (
        _email_taken_on_race(resident),
        files_kept_only_on_commit() as keep,
        transaction.atomic(),
    ):
        samples = [
            *_samples_store(resident, FACE, photos, faces, by, keep, portrait=True),
            *_samples_store(resident, VOICE, voices, speakers, by, keep, portrait=True),
        ]
        _centre(resident, FACE, faces)
        _centre(resident, VOICE, speakers)
        resident.save(force_insert=True)
        Sample.objects.bulk_create(samples)
        _log(resident, "register", by, **_counts(faces, speakers))
    return resident


def residents_import(*, by: Staff, rows: Sequence[tuple[int, ResidentChanges]]) -> list[Resident]:
    """Register the residents of a spreadsheet, each row checked beforehand with the
    register form's rules (residents.imports): (row number, name, room and details) each.
    One transaction: the rows inserted together and a register block each (marked
    ``"source": "import"``), all of them or, when one is refused (an email another
    registration took meanwhile, caught by the unique constraint), none, naming its row."""
    residents = []
    for _, person in rows:
        unknown = set(person) - set(EDITABLE_FIELDS)
        if unknown:
            raise TypeError(f"unknown resident fields: {', '.join(sorted(unknown))}")
        resident = Resident(created_by=_user(by), **_cleaned(dict(person)))
        resident.derive()  # bulk_create does not call save(), which derives
        residents.append(resident)
    try:
        with transaction.atomic():
            # The ledger's lock first: a second import of the same file waits here, then
            # finds these residents living here.
            block_append_many(
                items=(
                    (_event(resident, "register", by, source="import"), str(resident.pk))
                    for resident in residents
                )
            )
            _refuse_living_here(rows, residents)
            Resident.objects.bulk_create(residents)
    except IntegrityError as exc:
        for (number, _), resident in zip(rows, residents, strict=True):
            if resident.email and selectors.email_taken(resident.email):
                refusal = _email_taken(resident)
                raise ImportRefused(
                    "invalid_rows", f"Row {number}: {refusal} Nothing was imported."
                ) from exc
        raise
    return residents


def resident_update(
    *,
    resident: Resident,
    by: Staff,
    photos: Sequence[Photo] = (),
    voices: Sequence[Voice] = (),
    same_face_confirmed: bool = False,
    **changes: Unpack[ResidentChanges],
) -> Resident:
    """Change a resident's details; logs one block naming the changed fields (none if none).
    New ``photos`` (``voices``) replace all the resident's photos (recordings): a
    re-enrolment. The same refusals as resident_register (a taken email, another
    resident's face, samples of more than one person)."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    cleaned = _cleaned(dict(changes))
    faces = _photos_checked(photos, resident, same_face_confirmed)
    speakers = _voices_checked(voices)
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
        replaced: list[str] = []
        samples: list[Sample] = []
        enrolled: list[str] = []
        for kind, items, embeddings, field in (
            (FACE, photos, faces, "photo"),
            (VOICE, voices, speakers, "voice_sample"),
        ):
            if not items:
                continue
            replaced += [getattr(current, field).name, *_samples_drop(current, kind)]
            samples += _samples_store(current, kind, items, embeddings, by, keep, portrait=True)
            _centre(current, kind, embeddings)
            changed.append(field)
            enrolled += FACE_FIELDS if kind == FACE else VOICE_FIELDS
        if not changed:
            return current
        current.save(update_fields=[*changed, *enrolled, "updated_at"])
        Sample.objects.bulk_create(samples)
        _log(current, "update", by, changed=sorted(changed), **_counts(faces, speakers))
        files_delete_on_commit(replaced)
    return current


def resident_sample_add(
    *,
    resident: Resident,
    by: Staff,
    photo: Photo | None = None,
    voice: Voice | None = None,
    same_face_confirmed: bool = False,
) -> Resident:
    """Add one photo (or voice recording) to a resident's enrolment, and log a block: the
    gate then compares scans with the centre of all of them. Refused unless it is the
    resident's own (within the same-person limit of their other samples) and not another
    resident's face. Past FACE_SAMPLES_MAX (VOICE_SAMPLES_MAX) the oldest sample other than
    the registration photo (recording) is dropped. A resident with no photo (recording)
    yet gets this one as it."""
    if (photo is None) == (voice is None):
        raise TypeError("resident_sample_add takes one photo or one voice recording")
    kind, limit = (FACE, FACE_SAMPLES_MAX) if photo else (VOICE, VOICE_SAMPLES_MAX)
    if photo is not None:
        items: Sequence[Photo | Voice] = [photo]
        again = f"If it is {resident.name}, tick 'It is {resident.name}' and add it again."
        embeddings = _photos_checked([photo], resident, same_face_confirmed, again)
    else:
        assert voice is not None
        items, embeddings = [voice], _voices_checked([voice])
    field = "photo" if kind == FACE else "voice_sample"
    with files_kept_only_on_commit() as keep, transaction.atomic():
        current = Resident.objects.select_for_update().get(pk=resident.pk)
        kept = list(_samples_current(current, kind))
        _same_person(kind, [selectors.sample_embedding(s) for s in kept], embeddings[0], current)
        portrait = not getattr(current, field)
        dropped: list[str] = []
        while len(kept) >= limit:
            oldest = next(s for s in kept if s.file.name != getattr(current, field).name)
            kept.remove(oldest)
            oldest.delete()
            dropped.append(oldest.file.name or "")
        sample = _samples_store(current, kind, items, embeddings, by, keep, portrait=portrait)
        everyone = [*(selectors.sample_embedding(s) for s in kept), embeddings[0]]
        _centre(current, kind, everyone)
        enrolled = FACE_FIELDS if kind == FACE else VOICE_FIELDS
        current.save(update_fields=[*enrolled, *([field] if portrait else []), "updated_at"])
        Sample.objects.bulk_create(sample)
        counts = _counts(everyone, []) if kind == FACE else _counts([], everyone)
        _log(current, "update", by, changed=[f"{kind}_samples"], **counts)
        files_delete_on_commit(dropped)
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


def residents_move_out(
    *, residents: Sequence[Resident], by: Staff, moved_out_on: date | None = None
) -> list[tuple[Resident, ResidentError]]:
    """Move many residents out (the end of a term): each as resident_deactivate does, in
    its own transaction with its own block, so that one refused (a move-in after the date)
    stops nobody else. Returns the refused ones with why."""
    refused = []
    for resident in residents:
        try:
            resident_deactivate(resident=resident, by=by, moved_out_on=moved_out_on)
        except ResidentError as exc:
            refused.append((resident, exc))
    return refused


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
        first = current.status is None
        current.status = status
        current.status_changed_at = timezone.now()
        current.save(update_fields=["status", "status_changed_at", "updated_at"])
        _log(current, "status", by, status=status, **(scans.FIRST if first else {}))
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


def _refuse_living_here(
    rows: Sequence[tuple[int, ResidentChanges]], residents: list[Resident]
) -> None:
    living = selectors.living_in(resident.room for resident in residents)
    for (number, _), resident in zip(rows, residents, strict=True):
        if (resident.name_sort, resident.room_sort) in living:
            raise ImportRefused(
                "invalid_rows",
                f"Row {number}: {resident.name} already lives in room {resident.room} (imported "
                "meanwhile?). Nothing was imported.",
            )


def _log(resident: Resident, kind: str, by: Staff, **extra: str | list[str] | int) -> None:
    block_append(data=_event(resident, kind, by, **extra), subject=str(resident.id))


def _event(resident: Resident, kind: str, by: Staff, **extra: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "resident_id": str(resident.id),
        "resident_name": resident.name,
        "room": resident.room,
        "by": by.get_username(),
        **extra,
    }


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


def _photos_checked(
    photos: Sequence[Photo], resident: Resident, same_face_confirmed: bool, again: str = ""
) -> list["np.ndarray"]:
    """Each photo's face descriptor; refused (UploadError) without one face in each,
    (ResidentError) when one is another resident's face that staff did not confirm, or
    when they are not all one person's. Before the transaction: reading the gallery must not
    hold the write lock."""
    if len(photos) > FACE_SAMPLES_MAX:
        raise ResidentError("invalid", f"At most {FACE_SAMPLES_MAX} photos at a time.")
    faces = []
    for photo in photos:
        if photo.face is None:  # not enrolled by the caller: find the one face now
            photo = uploads.photo_with_face(photo)
        assert photo.face is not None
        if not same_face_confirmed:
            twin = selectors.face_lookalike(photo.face, exclude=resident.pk)
            if twin is not None:
                raise lookalike_refusal(twin, again)
        faces.append(photo.face)
    _one_person(FACE, faces)
    return faces


def _voices_checked(voices: Sequence[Voice]) -> list["np.ndarray"]:
    """Each recording's speaker embedding; refused (UploadError) without enough speech in
    each, (ResidentError) when they are not all one person's."""
    if len(voices) > VOICE_SAMPLES_MAX:
        raise ResidentError("invalid", f"At most {VOICE_SAMPLES_MAX} voice recordings at a time.")
    embeddings = []
    for recording in voices:
        if recording.embedding is None:
            recording = uploads.voice_with_embedding(recording)
        assert recording.embedding is not None
        embeddings.append(recording.embedding)
    _one_person(VOICE, embeddings)
    return embeddings


def _one_person(kind: str, embeddings: list["np.ndarray"]) -> None:
    """Refused unless each sample is within the same-person limit of the others (_apart);
    the refusal names the one farthest from the others."""
    if len(embeddings) < 2:
        return
    apart = [
        _apart(kind, embeddings[:n] + embeddings[n + 1 :], embedding)
        for n, embedding in enumerate(embeddings)
    ]
    worst = max(range(len(apart)), key=lambda n: apart[n][0])
    score, text = apart[worst]
    if score <= 0:
        return
    what = "photos" if kind == FACE else "recordings"
    if len(embeddings) == 2:
        message = f"The two {what} are not of the same person ({text}): choose one of them."
    else:
        message = (
            f"{what.capitalize()[:-1]} {worst + 1} is not of the same person as the other "
            f"{what} ({text}): leave it out, or take it again."
        )
    raise _different(kind, message)


def _same_person(
    kind: str, others: list["np.ndarray"], embedding: "np.ndarray", resident: Resident
) -> None:
    """Refused (ResidentError "different_faces" or "different_voices") when ``embedding``
    is too far from the resident's ``others`` (_apart; none yet: accepted)."""
    if not others:
        return
    score, text = _apart(kind, others, embedding)
    if score <= 0:
        return
    what = "photo" if kind == FACE else "recording"
    raise _different(
        kind,
        f"This {what} does not look like {resident.name}'s other {what}s ({text}): it may be "
        f"someone else, so check their ID. Only if it is them and they have changed, replace "
        f"their {what}s on Edit.",
    )


def _different(kind: str, message: str) -> ResidentError:
    if kind == FACE:
        return ResidentError("different_faces", message)
    return ResidentError("different_voices", message)


def _apart(kind: str, others: list["np.ndarray"], embedding: "np.ndarray") -> tuple[float, str]:
    """How far past the same-person limit ``embedding`` lies from ``others`` (positive: too
    far; face.distance_to_samples, voice.similarity_to_samples), and the measure in words."""
    if kind == FACE:
        distance = face.distance_to_samples(others, embedding)
        text = f"{distance:.2f} from them, where one person's photos lie within {face.SAME_PERSON}"
        return distance - face.SAME_PERSON, text
    similarity = voice.similarity_to_samples(others, embedding)
    text = f"{similarity:.2f} alike, where one person's recordings are {voice.SAME_PERSON} or more"
    return voice.SAME_PERSON - similarity, text


def lookalike_refusal(twin: Resident, again: str = "") -> ResidentError:
    """The refusal of a photo that shows ``twin``'s face, naming them; ``again`` says how
    to go on if it is not them (by default: confirm, and register again)."""
    where = (
        f"(room {twin.room}), who already lives here"
        if twin.is_active
        else f"(room {twin.room}), who moved out on {twin.moved_out_on}: if it is them, open "
        "their page and use Move back in"
    )
    return ResidentError(
        "duplicate_face",
        f"This photo looks like {twin.name} {where}. "
        f"{again or 'If this is someone else, confirm it and register again.'}",
        resident=twin,
    )


def _samples_store(
    resident: Resident,
    kind: str,
    items: Sequence[Photo | Voice],
    embeddings: list["np.ndarray"],
    by: Staff,
    keep: Callable[[str], None],
    *,
    portrait: bool,
) -> list[Sample]:
    """Store each photo (recording) as a new, unsaved sample of ``resident``; with
    ``portrait``, the first also as the resident's photo (voice sample): one file, named by
    both."""
    model, field, extension = _KINDS[kind]
    samples = []
    for n, (item, embedding) in enumerate(zip(items, embeddings, strict=True)):
        content = item.jpeg if isinstance(item, Photo) else item.wav
        sample = Sample(
            resident=resident,
            kind=kind,
            embedding=embedding.astype("float32").tobytes(),
            model=model,
            created_by=_user(by),
        )
        if n == 0 and portrait:
            keep(file_store(getattr(resident, field), content, extension))
            sample.file.name = getattr(resident, field).name
        else:
            keep(file_store(sample.file, content, extension))
        samples.append(sample)
    return samples


def _samples_current(resident: Resident, kind: str) -> QuerySet[Sample]:
    """The resident's samples of ``kind`` made with the current model, oldest first."""
    model, _, _ = _KINDS[kind]
    return Sample.objects.filter(resident=resident, kind=kind, model=model)


def _samples_drop(resident: Resident, kind: str) -> list[str]:
    """Delete the resident's samples of ``kind``; the names of their files."""
    samples = Sample.objects.filter(resident=resident, kind=kind)
    names = [name for name in samples.values_list("file", flat=True) if name]
    samples.delete()
    return names


def _centre_of(kind: str, embeddings: list["np.ndarray"]) -> "np.ndarray":
    """The mean of the samples' embeddings (voice: brought back to unit length)."""
    import numpy as np

    centre = np.mean(np.stack(embeddings), axis=0).astype(np.float32)
    if kind == VOICE:
        centre /= max(float(np.linalg.norm(centre)), 1e-12)
    return centre


def _centre(resident: Resident, kind: str, embeddings: list["np.ndarray"]) -> None:
    """Enrol ``resident`` with the centre of ``embeddings`` (none: nothing changes)."""
    if not embeddings:
        return
    model, _, _ = _KINDS[kind]
    setattr(resident, f"{kind}_embedding", _centre_of(kind, embeddings).tobytes())
    setattr(resident, f"{kind}_model", model)
    setattr(resident, f"{kind}_enrolled_at", timezone.now())


def _counts(faces: list[Any], voices: list[Any]) -> dict[str, int]:
    """What a block says of the samples enrolled: how many photos and recordings."""
    counts = {}
    if faces:
        counts["photos"] = len(faces)
    if voices:
        counts["voice_recordings"] = len(voices)
    return counts


# Per kind: the model, the resident's file field that holds the registration sample, the
# file extension.
_KINDS: dict[str, tuple[str, str, str]] = {
    FACE: (face.MODEL, "photo", "jpg"),
    VOICE: (voice.MODEL, "voice_sample", "wav"),
}


def _user(by: Staff) -> User | None:
    return by if isinstance(by, User) else None


def _clean(value: Any) -> Any:
    return text_normalise(value) if isinstance(value, str) else value


def _cleaned(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = {field: _clean(value) for field, value in values.items()}
    if cleaned.get("floor") == "":
        cleaned["floor"] = None
    return cleaned
