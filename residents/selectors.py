"""Reads: the resident directory, one resident's ledger history, occupancy counts.
The gate's reads (who is in, curfew, today's scans) are in residents.scan_selectors."""

from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Count, Q, QuerySet

from ledger import selectors as ledger_selectors
from ledger.models import Block
from residents import passes, search
from residents.models import Resident, Sample
from residents.search import query_parse

# Natural order ("Resident 2" before "Resident 10", "B-2" before "B-10"): the sort keys
# Resident.save() derives (residents.search.sort_key). Other lists of residents use these.
NAME_ORDER = ("name_sort", "room_sort")
ROOM_ORDER = ("room_sort", "name_sort")
ORDERINGS = {
    "name": NAME_ORDER,
    "-name": ("-name_sort", "room_sort"),
    "room": ROOM_ORDER,
    "-room": ("-room_sort", "name_sort"),
    "floor": ("floor", *ROOM_ORDER),
    "-floor": ("-floor", *ROOM_ORDER),
    "newest": ("-created_at",),
    "oldest": ("created_at",),
    "status": ("status", *NAME_ORDER),
}


NO_STATUS = "none"  # resident_list's status for those never scanned


def resident_list(
    *,
    search: str = "",
    status: str = "",
    room: str = "",
    floor: int | None = None,
    active: bool | None = True,
    order: str = "name",
) -> QuerySet[Resident]:
    """Residents matching every given filter. ``active=None`` includes moved-out residents.

    ``search`` finds part of a name, room or email in any case and with or without accents,
    every word of it somewhere, or part of a phone number typed as digits (residents.search).
    """
    residents = Resident.objects.all()
    query = query_parse(search)
    if query:
        matches = Q(*[Q(search_text__contains=term) for term in query.terms])
        if query.phone:
            matches |= Q(phone_digits__contains=query.phone)
        residents = residents.filter(matches)
    if status == NO_STATUS:
        residents = residents.filter(status__isnull=True)
    elif status:
        residents = residents.filter(status=status)
    if room:
        residents = residents.filter(room__iexact=room.strip())
    if floor is not None:
        residents = residents.filter(floor=floor)
    if active is not None:
        residents = residents.filter(is_active=active)
    return residents.order_by(*ORDERINGS.get(order, ORDERINGS["name"]))


def resident_lookup(text: str, limit: int) -> list[tuple[str, str]]:
    """(id, "Name (room)") of up to ``limit`` residents, moved-out ones too, that a search for
    ``text`` finds: the ledger's resident filter (ledger.registry.Subject.lookup)."""
    found = resident_list(search=text, active=None)[:limit]
    return [
        (str(resident.pk), str(resident) + ("" if resident.is_active else ", moved out"))
        for resident in found.only("id", "name", "room", "is_active")
    ]


def email_taken(email: str, *, exclude: Any = None) -> bool:
    """Whether another resident (moved out or not) has ``email``, in any case."""
    return Resident.objects.filter(email__iexact=email.strip()).exclude(pk=exclude).exists()


def living_in(rooms: Iterable[str]) -> set[tuple[str, str]]:
    """(name, room) sort keys of the residents living in ``rooms`` (residents.search)."""
    keys = sorted({search.sort_key(room) for room in rooms if room})
    found: set[tuple[str, str]] = set()
    for start in range(0, len(keys), 500):
        found.update(
            Resident.objects.filter(is_active=True, room_sort__in=keys[start : start + 500])
            .values_list("name_sort", "room_sort")
        )  # fmt: skip
    return found


def face_lookalike(descriptor: "np.ndarray", *, exclude: Any = None) -> Resident | None:
    """The resident, active first, moved out otherwise, whose enrolled face is within
    FACE_MATCH_THRESHOLD of ``descriptor`` (the distance at which the gate would take one
    for the other), closest first."""
    from residents.galleries import gallery

    for enrolled in gallery("face").load():
        if not enrolled.ids:
            continue
        distances = np.linalg.norm(enrolled.matrix - descriptor, axis=1)
        for row in np.argsort(distances)[:5]:
            if distances[row] >= settings.FACE_MATCH_THRESHOLD:
                break
            if enrolled.ids[row] != exclude:
                return Resident.objects.defer(*Resident.EMBEDDINGS).get(pk=enrolled.ids[row])
    return None


def resident_samples(resident: Resident) -> dict[str, list[Sample]]:
    """The resident's enrolment samples by kind ("face", "voice"), oldest first."""
    samples: dict[str, list[Sample]] = {"face": [], "voice": []}
    for sample in resident.samples.defer("embedding"):
        samples[sample.kind].append(sample)
    return samples


def sample_embedding(sample: Sample) -> np.ndarray:
    """A stored sample's face descriptor or speaker embedding."""
    return np.frombuffer(bytes(sample.embedding), dtype=np.float32)


def photo_descriptors(resident: Resident) -> list[np.ndarray]:
    """The face descriptors of the resident's photos, made with the current model, oldest
    first: what a photo added to them is checked against (face.distance_to_samples)."""
    from residents.biometrics import face

    stored = resident.samples.filter(kind="face", model=face.MODEL).only("embedding")
    return [sample_embedding(sample) for sample in stored]


def sample_counts(resident: Resident) -> dict[str, int]:
    """How many photos ("face") and voice recordings ("voice") the resident is enrolled with."""
    counts = Counter(resident.samples.values_list("kind", flat=True))
    return {kind: counts[kind] for kind in ("face", "voice")}


def resident_get(resident_id: Any) -> Resident | None:
    return Resident.objects.filter(pk=resident_id).first()


def resident_history(resident: Resident) -> QuerySet[Block]:
    """The resident's ledger blocks, newest first (indexed by Block.subject)."""
    return ledger_selectors.subject_history(str(resident.id))


def resident_pass_png(resident: Resident) -> bytes:
    """The printable pass card of an active resident, with their photo."""
    photo = None
    if resident.photo:
        with default_storage.open(resident.photo.name, "rb") as handle:
            photo = handle.read()
    return passes.card_png(
        token=passes.pass_token(resident.pk, resident.pass_version),
        name=resident.name,
        room=resident.room,
        photo_jpeg=photo,
        title="Resident pass",
    )


def occupancy() -> dict[str, int]:
    """Active residents: in, out, and never scanned (no status yet)."""
    counts = Resident.objects.filter(is_active=True).aggregate(
        total=Count("id"),
        inside=Count("id", filter=Q(status=Resident.Status.IN)),
        outside=Count("id", filter=Q(status=Resident.Status.OUT)),
    )
    return {**counts, "unknown": counts["total"] - counts["inside"] - counts["outside"]}
