"""Face and voice at the gate: identify the resident (1:N, or 1:1 for a voice with a claim),
then record the scan through residents.scans. Residents who moved out stay in the galleries,
searched only after the active residents found no match, so that their face or voice is
refused as theirs ("moved out"), not as a stranger's, and never stands in the way of an
active resident's. Refused
unless the match is confident: a
distance under FACE_MATCH_THRESHOLD (a similarity over VOICE_MATCH_THRESHOLD) that is also a
clear margin better than the next resident.
"""

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from residents.denials import decided
from residents.errors import ScanRefused
from residents.models import Gate, Resident, ScanMode
from residents.scans import ScanOutcome, Score, match_record, resident_from_pass

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

SCAN_MIN_SPEECH_SECONDS = 1.5


@decided(ScanMode.FACE)
def face_scan_record(
    *,
    by: AbstractBaseUser | AnonymousUser,
    gate: Gate,
    image: "Image.Image",
    scan_id: uuid.UUID | None = None,
) -> ScanOutcome:
    """Identify the one face in ``image`` among active residents (1:N) and record the scan;
    failing that, among moved-out ones, to refuse them as moved out.

    Accepted only below FACE_MATCH_THRESHOLD and FACE_MATCH_MARGIN closer than the next
    person; otherwise refused as "no confident match", and nothing is recorded.
    """
    from residents.biometrics import face
    from residents.galleries import gallery

    try:
        probe = face.face_embed(image)
    except face.FaceError as exc:
        raise ScanRefused(exc.code, str(exc)) from exc
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
        return _record_match(by, gate, ScanMode.FACE, found, scan_id, whose="one resident's")
    except ScanRefused as refusal:
        if found is not None:  # matched, and refused for another reason
            raise
        _, candidate = face.face_identify(probe, active.matrix, threshold=0, margin=0)
        if candidate is not None and candidate.distance < face.SAME_PERSON:
            refusal.closest = Resident.objects.filter(pk=active.ids[candidate.index]).first()
            refusal.distance = candidate.distance
        raise


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
