"""1:N galleries: every enrolled resident's face (or voice) embedding, in two matrices: the
active residents, searched first, and the moved-out ones, searched only when no active
resident matched (so that a moved-out resident is refused as theirs, "moved out", without
ever standing in an active resident's way).

Cached per process and rebuilt only when enrolments or moves change (a new or replaced
photo or voice sample, a move out or back in), which one aggregate query per search
detects, so several app servers stay right without any signal between them.
"""

import threading
import uuid
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Count, Max, Q, QuerySet

from residents.models import Resident


@dataclass(frozen=True)
class Enrolled:
    """Residents' ids and their embeddings, one row each, in the same order."""

    ids: list[uuid.UUID]
    matrix: np.ndarray


@dataclass
class Gallery:
    prefix: str  # "face" or "voice": the Resident fields <prefix>_embedding/_model/_enrolled_at
    model: str
    dimensions: int
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _key: tuple | None = None
    _groups: tuple[Enrolled, Enrolled] | None = None

    def load(self) -> tuple[Enrolled, Enrolled]:
        """(active residents, moved-out residents) enrolled with this model."""
        enrolled = Resident.objects.filter(
            **{f"{self.prefix}_model": self.model, f"{self.prefix}_embedding__isnull": False},
        )
        # A move out and a move back in at once leave the active count alone, but the one
        # who left has the latest change among those who are gone.
        key = tuple(
            enrolled.aggregate(
                n=Count("id"),
                latest=Max(f"{self.prefix}_enrolled_at"),
                active=Count("id", filter=Q(is_active=True)),
                left=Max("updated_at", filter=Q(is_active=False)),
            ).values()
        )
        with self._lock:
            if self._key != key or self._groups is None:
                self._groups = (self._read(enrolled, True), self._read(enrolled, False))
                self._key = key
            return self._groups

    def _read(self, enrolled: QuerySet[Resident], active: bool) -> Enrolled:
        rows = list(
            enrolled.filter(is_active=active)
            .order_by("pk")
            .values_list("pk", f"{self.prefix}_embedding")
        )
        matrix = np.frombuffer(
            b"".join(bytes(embedding) for _, embedding in rows), dtype=np.float32
        ).reshape(-1, self.dimensions)
        return Enrolled([pk for pk, _ in rows], matrix)


_galleries: dict[str, Gallery] = {}


def gallery(prefix: str) -> Gallery:
    if prefix not in _galleries:
        from residents.biometrics import face, voice

        module = {"face": face, "voice": voice}[prefix]
        _galleries[prefix] = Gallery(prefix, module.MODEL, module.DIMENSIONS)
    return _galleries[prefix]
