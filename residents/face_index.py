"""The 1:N face gallery: every active resident's descriptor in one matrix.

Cached per process and rebuilt only when enrolments change (a new or replaced photo, a
move-out), which one aggregate query per search detects, so several app servers stay right.
"""

import threading
import uuid

import numpy as np
from django.db.models import Count, Max

from residents.biometrics import face
from residents.models import Resident

_lock = threading.Lock()
_cache: dict = {"key": None, "ids": [], "matrix": np.empty((0, face.DIMENSIONS), np.float32)}


def face_gallery() -> tuple[list[uuid.UUID], np.ndarray]:
    enrolled = Resident.objects.filter(
        is_active=True, face_model=face.MODEL, face_embedding__isnull=False
    )
    key = tuple(enrolled.aggregate(n=Count("id"), latest=Max("face_enrolled_at")).values())
    with _lock:
        if _cache["key"] != key:
            rows = list(enrolled.order_by("pk").values_list("pk", "face_embedding"))
            matrix = np.frombuffer(
                b"".join(bytes(embedding) for _, embedding in rows), dtype=np.float32
            ).reshape(-1, face.DIMENSIONS)
            _cache.update(key=key, ids=[pk for pk, _ in rows], matrix=matrix)
        return _cache["ids"], _cache["matrix"]
