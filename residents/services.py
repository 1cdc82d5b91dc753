"""The only code that writes residents. Each change and its ledger block commit together.

Uploads arrive already normalised (residents.uploads.Photo / Voice); files are written
inside the transaction and removed again if it does not commit, so a refused or failed
registration leaves no row, no block and no file behind.
"""

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from ledger.models import Block
from ledger.services import block_append
from residents import passes
from residents.models import Gate, Resident, ScanRequest
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
            _enrol_face(resident, photo)
        if voice is not None:
            keep(_store(resident.voice_sample, voice.wav, "wav"))
            _enrol_voice(resident, voice)
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
            _enrol_face(current, photo)
            changed.append("photo")
        if voice is not None:
            replaced.append(current.voice_sample.name)
            keep(_store(current.voice_sample, voice.wav, "wav"))
            _enrol_voice(current, voice)
            changed.append("voice_sample")
        if not changed:
            return current
        face_fields = ["face_embedding", "face_model", "face_enrolled_at"] if photo else []
        voice_fields = ["voice_embedding", "voice_model", "voice_enrolled_at"] if voice else []
        current.save(update_fields=[*changed, *face_fields, *voice_fields, "updated_at"])
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


# --- The gate -------------------------------------------------------------------------------

SCAN_MODES = ("qr", "manual", "face", "voice")
SCAN_MIN_SPEECH_SECONDS = 1.5


class ScanRefused(Exception):
    """The scan is refused and nothing was recorded; the message is for the guard."""

    def __init__(
        self, message: str, *, code: str, status: int, resident: Resident | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.resident = resident


@dataclass(frozen=True)
class ScanOutcome:
    resident: Resident
    block: Block
    replayed: bool  # True: a retry of a scan id already recorded; nothing new was written
    distance: float | None = None  # face: distance to the enrolled face; voice: similarity


def scan_record(
    *,
    by: AbstractBaseUser,
    gate: Gate,
    mode: str,
    token: str = "",
    resident_id: uuid.UUID | None = None,
    scan_id: uuid.UUID | None = None,
) -> ScanOutcome:
    """Record a resident passing ``gate``: IN or OUT by the gate's rules, with its block.

    ``mode`` "qr" reads the resident from a pass ``token``; "manual" takes ``resident_id``
    (a guard looked the resident up). With a ``scan_id``, a retry of the same scan returns
    the first result and never toggles twice. Every refusal raises ScanRefused and records
    nothing.
    """
    if mode == "qr":
        try:
            target = passes.pass_read(token).resident_id
        except passes.PassError as exc:
            raise ScanRefused(str(exc), code="invalid_pass", status=400) from exc
    elif mode in ("manual", "face", "voice"):
        if resident_id is None:
            raise ScanRefused("Choose the resident to record.", code="invalid", status=400)
        target = resident_id
    else:
        raise ScanRefused(f"Unknown scan mode {mode!r}.", code="invalid_mode", status=400)
    try:
        with transaction.atomic():
            return _scan_locked(by, gate, mode, token, target, scan_id)
    except IntegrityError:
        # Only the scan id's unique constraint can fail here: a retry that raced the first
        # request past the lock. Return what the first one recorded.
        previous = ScanRequest.objects.filter(scan_id=scan_id).first()
        if scan_id is None or previous is None:
            raise
        if previous.resident_id != target:
            raise ScanRefused(
                "This scan id was already used for another resident.",
                code="scan_id_reused",
                status=409,
            ) from None
        resident = Resident.objects.get(pk=previous.resident_id)
        return ScanOutcome(resident, Block.objects.get(index=previous.block_index), True)


def face_scan_record(
    *,
    by: AbstractBaseUser,
    gate: Gate,
    image: Any,
    scan_id: uuid.UUID | None = None,
) -> ScanOutcome:
    """Identify the one face in ``image`` among active residents (1:N) and record the scan.

    Accepted only below FACE_MATCH_THRESHOLD and FACE_MATCH_MARGIN closer than the next
    person; otherwise refused as "no confident match", and nothing is recorded.
    """
    from residents.biometrics import face
    from residents.galleries import gallery

    try:
        probe = face.face_embed(image)
    except face.FaceError as exc:
        raise ScanRefused(str(exc), code=exc.code, status=422) from exc
    ids, matrix = gallery("face").load()
    match, _ = face.face_identify(
        probe,
        matrix,
        threshold=settings.FACE_MATCH_THRESHOLD,
        margin=settings.FACE_MATCH_MARGIN,
    )
    score = None if match is None else match.distance
    return _record_match(
        by, gate, "face", ids[match.index] if match else None, score, scan_id, "one resident's"
    )


def voice_scan_record(
    *,
    by: AbstractBaseUser,
    gate: Gate,
    samples: Any,
    claimed: uuid.UUID | None = None,
    scan_id: uuid.UUID | None = None,
) -> ScanOutcome:
    """Verify a claimed resident's voice (1:1) or identify it among all (1:N), then record.

    Accepted only above VOICE_MATCH_THRESHOLD (cosine similarity), and in 1:N also
    VOICE_MATCH_MARGIN above the next resident. ``samples``: 16 kHz mono float audio.
    """
    from residents.biometrics import voice
    from residents.galleries import gallery

    try:
        probe = voice.voice_embed(samples, min_speech=SCAN_MIN_SPEECH_SECONDS)
    except voice.VoiceError as exc:
        raise ScanRefused(str(exc), code=exc.code, status=422) from exc
    ids, matrix = gallery("voice").load()
    if claimed is not None:
        if claimed not in ids:
            raise ScanRefused(
                "This resident has no voice enrolled (or has moved out); use the pass.",
                code="not_enrolled",
                status=404,
            )
        row = ids.index(claimed)
        ids, matrix = [claimed], matrix[row : row + 1]
    match, _ = voice.voice_identify(
        probe, matrix, threshold=settings.VOICE_MATCH_THRESHOLD, margin=settings.VOICE_MATCH_MARGIN
    )
    score = None if match is None else match.similarity
    whose = "the claimed resident's" if claimed else "one resident's"
    return _record_match(
        by, gate, "voice", ids[match.index] if match else None, score, scan_id, whose
    )


def _record_match(
    by: AbstractBaseUser,
    gate: Gate,
    mode: str,
    resident_id: uuid.UUID | None,
    score: float | None,
    scan_id: uuid.UUID | None,
    whose: str,
) -> ScanOutcome:
    """Record the scan of a biometric match, or refuse when there was no confident one."""
    if resident_id is None or score is None:
        raise ScanRefused(
            f"No confident match: this {mode} is not clearly {whose}. Ask for the pass, "
            "or use manual entry.",
            code="no_confident_match",
            status=404,
        )
    outcome = scan_record(by=by, gate=gate, mode=mode, resident_id=resident_id, scan_id=scan_id)
    return ScanOutcome(outcome.resident, outcome.block, outcome.replayed, score)


def _scan_locked(
    by: AbstractBaseUser,
    gate: Gate,
    mode: str,
    token: str,
    target: uuid.UUID,
    scan_id: uuid.UUID | None,
) -> ScanOutcome:
    resident = Resident.objects.select_for_update().filter(pk=target).first()
    if resident is None:
        what = "This pass belongs to" if mode == "qr" else "There is"
        raise ScanRefused(f"{what} nobody registered here.", code="unknown_resident", status=404)
    if scan_id is not None:
        previous = ScanRequest.objects.filter(scan_id=scan_id).first()
        if previous is not None:
            if previous.resident_id != resident.pk:
                raise ScanRefused(
                    "This scan id was already used for another resident.",
                    code="scan_id_reused",
                    status=409,
                )
            return ScanOutcome(resident, Block.objects.get(index=previous.block_index), True)
    if not resident.is_active:
        raise ScanRefused(
            f"{resident.name} has moved out; their pass no longer opens the gate.",
            code="inactive_resident",
            status=403,
            resident=resident,
        )
    if mode == "qr" and passes.pass_read(token).version != resident.pass_version:
        raise ScanRefused(
            "This pass has been replaced by a newer one and no longer works. Ask the resident "
            "for their current pass.",
            code="revoked_pass",
            status=403,
            resident=resident,
        )
    now = timezone.now()
    debounce = settings.SCAN_DEBOUNCE_SECONDS
    if resident.last_scan_at and now - resident.last_scan_at < timedelta(seconds=debounce):
        ago = max(0, int((now - resident.last_scan_at).total_seconds()))
        raise ScanRefused(
            f"{resident.name} was scanned {ago} s ago; the repeat is ignored.",
            code="duplicate_scan",
            status=409,
            resident=resident,
        )
    status = _next_status(resident, gate)
    resident.status = status
    resident.last_scan_at = now
    resident.save(update_fields=["status", "last_scan_at", "updated_at"])
    block = block_append(
        data={
            "type": "scan",
            "resident_id": str(resident.id),
            "resident_name": resident.name,
            "room": resident.room,
            "mode": mode,
            "status": status,
            "gate": gate.slug,
            "by": by.get_username(),
        }
    )
    if scan_id is not None:
        ScanRequest.objects.create(scan_id=scan_id, resident=resident, block_index=block.index)
    return ScanOutcome(resident, block, False)


def _next_status(resident: Resident, gate: Gate) -> str:
    inside, outside = Resident.Status.IN, Resident.Status.OUT
    if gate.mode == Gate.Mode.ENTRY and resident.status == inside:
        raise ScanRefused(
            f"{resident.name} is already IN: {gate.name} only lets residents in "
            "(anti-passback). They must leave through an exit first.",
            code="anti_passback",
            status=409,
            resident=resident,
        )
    if gate.mode == Gate.Mode.EXIT and resident.status == outside:
        raise ScanRefused(
            f"{resident.name} is already OUT: {gate.name} only lets residents out (anti-passback).",
            code="anti_passback",
            status=409,
            resident=resident,
        )
    return outside if resident.status == inside else inside


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


def _enrol_face(resident: Resident, photo: Photo) -> None:
    from residents.biometrics import face

    _enrol(resident, "face", photo.face, face.MODEL)


def _enrol_voice(resident: Resident, sample: Voice) -> None:
    from residents.biometrics import voice

    _enrol(resident, "voice", sample.embedding, voice.MODEL)


def _enrol(resident: Resident, prefix: str, embedding: Any, model: str) -> None:
    """Store an upload's embedding with its model (or clear an old one if it has none)."""
    enrolled = embedding is not None
    setattr(
        resident, f"{prefix}_embedding", embedding.astype("float32").tobytes() if enrolled else None
    )
    setattr(resident, f"{prefix}_model", model if enrolled else "")
    setattr(resident, f"{prefix}_enrolled_at", timezone.now() if enrolled else None)


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
