"""1:N galleries: every enrolled resident's face (or voice) embedding in one matrix, moved-
out residents included (a scan of one is refused as theirs: "moved out").

Cached per process and rebuilt only when enrolments change (a new or replaced photo or
voice sample), which one aggregate query per search detects, so several app servers stay
right without any signal between them.
"""

import threading
import uuid
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Count, Max

from residents.models import Resident


@dataclass
class Gallery:
    prefix: str  # "face" or "voice": the Resident fields <prefix>_embedding/_model/_enrolled_at
    model: str
    dimensions: int
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _key: tuple | None = None
    _ids: list[uuid.UUID] = field(default_factory=list)
    _matrix: np.ndarray | None = None

    def load(self) -> tuple[list[uuid.UUID], np.ndarray]:
        enrolled = Resident.objects.filter(
            **{f"{self.prefix}_model": self.model, f"{self.prefix}_embedding__isnull": False},
        )
        key = tuple(
            enrolled.aggregate(n=Count("id"), latest=Max(f"{self.prefix}_enrolled_at")).values()
        )
        with self._lock:
            if self._key != key or self._matrix is None:
                rows = list(enrolled.order_by("pk").values_list("pk", f"{self.prefix}_embedding"))
                self._matrix = np.frombuffer(
                    b"".join(bytes(embedding) for _, embedding in rows), dtype=np.float32
                ).reshape(-1, self.dimensions)
                self._ids = [pk for pk, _ in rows]
                self._key = key
            return self._ids, self._matrix


_galleries: dict[str, Gallery] = {}


def gallery(prefix: str) -> Gallery:
    if prefix not in _galleries:
        from residents.biometrics import face, voice

        module = {"face": face, "voice": voice}[prefix]
        _galleries[prefix] = Gallery(prefix, module.MODEL, module.DIMENSIONS)
    return _galleries[prefix]
