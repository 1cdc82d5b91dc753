"""Face and voice at the gate: identify the resident (1:N, or 1:1 for a voice with a claim),
then record the scan through residents.scans. Residents who moved out stay in the galleries,
searched only after the active residents found no match, so that their face or voice is
refused as theirs ("moved out"), not as a stranger's, and never stands in the way of an
active resident's. Refused
unless the match is confident: a
distance under FACE_MATCH_THRESHOLD (a similarity over VOICE_MATCH_THRESHOLD) that is also a
clear margin better than the next resident.
"""

import dataclasses
import math
import secrets
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.core.signing import BadSignature, SignatureExpired, TimestampSigner

from residents import selectors
from residents.denials import decided
from residents.errors import ScanRefused
from residents.models import Gate, Resident, ScanMode, ScanRequest
from residents.scans import ScanOutcome, Score, match_record, resident_from_pass

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

SCAN_MIN_SPEECH_SECONDS = 1.5
# A liveness challenge (which way to turn) is good for this long, and for one scan.
CHALLENGE_SECONDS = 60
_challenges = TimestampSigner(salt="hostel.face-liveness")


def liveness_challenge() -> tuple[str, str]:
    """A new challenge for a face scan: (signed token, "left" or "right", chosen at random).
    The gate asks the resident to turn that way and sends the token back with the frames."""
    from residents.biometrics import liveness

    direction = secrets.choice(liveness.DIRECTIONS)
    return _challenges.sign(f"{direction}:{secrets.token_urlsafe(12)}"), direction


def _challenge_direction(token: str, scan_id: uuid.UUID | None) -> str:
    """The direction a challenge asked for; refused if forged, older than CHALLENGE_SECONDS
    or already used by another scan. A retry of a scan already recorded under ``scan_id``
    passes at any age (it is then answered as it was the first time: recorded at most once)."""
    try:
        value = _challenges.unsign(token)
    except BadSignature:
        raise ScanRefused(
            "invalid_challenge",
            "The request to turn the head is not one this server made: press Scan face again.",
        ) from None
    direction, nonce = value.split(":", 1)
    if scan_id is not None and ScanRequest.objects.filter(scan_id=scan_id).exists():
        return direction
    try:
        _challenges.unsign(token, max_age=CHALLENGE_SECONDS)
    except SignatureExpired:
        raise ScanRefused(
            "challenge_expired",
            f"The request to turn the head is more than {CHALLENGE_SECONDS} s old: press "
            "Scan face again.",
        ) from None
    key = f"hostel:liveness:{nonce}"
    use = str(scan_id or uuid.uuid4())
    if not cache.add(key, use, CHALLENGE_SECONDS * 2) and cache.get(key) != use:
        raise ScanRefused(
            "challenge_used",
            "This request to turn the head was already used for a scan: press Scan face again.",
        )
    return direction


def _face_probe(
    gate: Gate,
    image: "Image.Image | None",
    frames: "Sequence[Image.Image]",
    challenge: str,
    scan_id: uuid.UUID | None,
) -> "tuple[np.ndarray, int | None]":
    """The descriptor to identify: of the one still; or, where the gate asks for a live
    person (or the client sent a challenge), of the frame facing the camera in frames that
    show the head turned the way the challenge asked, with that frame's index (0-based: the
    one the gate shows the guard, and adds to a resident's photos)."""
    from residents.biometrics import face, liveness

    if gate.asks_liveness or challenge:
        if not frames or not challenge:
            raise ScanRefused(
                "liveness_required",
                f"{gate.name} checks for a live person: the scan needs frames of the resident "
                "turning their head and the challenge they answer (GET /api/scan/challenge); "
                "the scan page does this.",
            )
        direction = _challenge_direction(challenge, scan_id)
        try:
            alive = liveness.liveness_check(frames, direction)
        except liveness.LivenessError as exc:
            raise ScanRefused(exc.code, str(exc)) from exc
        return alive.descriptor, alive.frontal
    still = image if image is not None else (frames[0] if frames else None)
    if still is None:
        raise ScanRefused("invalid", "A face scan needs a photo.")
    try:
        return face.face_embed(still), (None if image is not None else 0)
    except face.FaceError as exc:
        raise ScanRefused(exc.code, str(exc)) from exc


@decided(ScanMode.FACE)
def face_scan_record(
    *,
    by: AbstractBaseUser | AnonymousUser,
    gate: Gate,
    image: "Image.Image | None" = None,
    frames: "Sequence[Image.Image]" = (),
    challenge: str = "",
    scan_id: uuid.UUID | None = None,
) -> ScanOutcome:
    """Identify the one face in ``image`` among active residents (1:N) and record the scan;
    failing that, among moved-out ones, to refuse them as moved out. At a gate that asks
    for a live person, ``frames`` of the head turning as ``challenge`` asked instead
    (liveness_challenge; refused as "not_live" and the like when they do not show it).

    Accepted only below FACE_MATCH_THRESHOLD and FACE_MATCH_MARGIN closer than the next
    person; otherwise refused as "no confident match", and nothing is recorded.
    """
    from residents.biometrics import face
    from residents.galleries import gallery

    probe, frame = _face_probe(gate, image, frames, challenge, scan_id)
    found = None
    active, moved_out = gallery("face").load()  # the active residents first
    for enrolled in (active, moved_out):
        match, _ = face.face_identify(
            probe,
            enrolled.matrix,
            threshold=settings.FACE_MATCH_THRESHOLD,
            margin=settings.FACE_MATCH_MARGIN,
        )
        if match is not None:
            found = (enrolled.ids[match.index], Score("distance", match.distance))
            break
    try:
        outcome = _record_match(by, gate, ScanMode.FACE, found, scan_id, whose="one resident's")
    except ScanRefused as refusal:
        refusal.frame = frame
        if found is not None:  # matched, and refused for another reason
            raise
        _, candidate = face.face_identify(probe, active.matrix, threshold=0, margin=0)
        if candidate is None:
            raise
        closest = Resident.objects.filter(pk=active.ids[candidate.index]).first()
        photos = selectors.photo_descriptors(closest) if closest is not None else []
        # Offered to a warden only where adding this photo would pass the same-person check
        # of services.resident_sample_add: the same measure, the same limit.
        distance = face.distance_to_samples(photos, probe) if photos else math.inf
        if distance <= face.SAME_PERSON:
            refusal.closest, refusal.distance = closest, distance
        raise
    return dataclasses.replace(outcome, frame=frame)


@decided(ScanMode.VOICE)
def voice_scan_record(
    *,
    by: AbstractBaseUser | AnonymousUser,
    gate: Gate,
    samples: "np.ndarray",
    claimed: uuid.UUID | None = None,
    token: str = "",
    scan_id: uuid.UUID | None = None,
) -> ScanOutcome:
    """Verify a claimed resident's voice (1:1) or identify it among all (1:N), then record.

    The claim is a resident id or their current pass ``token``. Accepted only above
    VOICE_MATCH_THRESHOLD (cosine similarity), and in 1:N also VOICE_MATCH_MARGIN above
    the next resident. ``samples``: 16 kHz mono float audio.
    """
    from residents.biometrics import voice
    from residents.galleries import Enrolled, gallery

    if claimed is None and token:
        claimed = resident_from_pass(token).pk
    try:
        probe = voice.voice_embed(samples, min_speech=SCAN_MIN_SPEECH_SECONDS)
    except voice.VoiceError as exc:
        raise ScanRefused(exc.code, str(exc)) from exc
    groups: tuple[Enrolled, ...] = gallery("voice").load()  # the active residents first
    if claimed is not None:
        group = next((g for g in groups if claimed in g.ids), None)
        if group is None:
            raise ScanRefused("not_enrolled", "This resident has no voice enrolled; use the pass.")
        row = group.ids.index(claimed)
        groups = (Enrolled([claimed], group.matrix[row : row + 1]),)
    found = None
    for enrolled in groups:
        match, _ = voice.voice_identify(
            probe,
            enrolled.matrix,
            threshold=settings.VOICE_MATCH_THRESHOLD,
            margin=settings.VOICE_MATCH_MARGIN,
        )
        if match is not None:
            found = (enrolled.ids[match.index], Score("similarity", match.similarity))
            break
    return _record_match(
        by,
        gate,
        ScanMode.VOICE,
        found,
        scan_id,
        whose="the claimed resident's" if claimed else "one resident's",
        claimed=claimed,
    )


def _record_match(
    by: AbstractBaseUser | AnonymousUser,
    gate: Gate,
    mode: ScanMode,
    match: tuple[uuid.UUID, Score] | None,
    scan_id: uuid.UUID | None,
    *,
    whose: str,
    claimed: uuid.UUID | None = None,
) -> ScanOutcome:
    """Record the scan of a confident biometric match, or refuse: no confident match (naming
    the claimed resident, whose voice it was not)."""
    if match is None:
        raise ScanRefused(
            "no_confident_match",
            f"No confident match: this {mode} is not clearly {whose}. Ask for the pass, or "
            "use manual entry.",
            resident=Resident.objects.filter(pk=claimed).first() if claimed else None,
        )
    resident_id, score = match
    return match_record(
        by=by, gate=gate, mode=mode, resident_id=resident_id, scan_id=scan_id, score=score
    )
