"""Liveness: is a live person at the camera, or a photo held up to it? Pure.

An active challenge. The gate asks the resident to look at the camera, then to turn their
head to their left or to their right (the gate picks which, at random, per scan), and sends
a few frames from that moment. liveness_check wants, in every frame, one face; one frame
facing the camera; and another turned from it, in the asked direction, by at least YAW_MIN,
showing the same person. Only those two frames are described (the ResNet, 56 ms a frame);
the others are only located, quickly (face.face_locate). In any order: the frames are
taken at intervals while the resident looks and turns, and the camera may catch them first
turned, then back. A printed photo or a phone screen held to the camera moves as a flat
picture does: it shifts, tilts and grows, but the face in it never turns, so it is refused
as "not_live".

The turn ("yaw") is read from dlib's five landmarks (see ``yaw``). Left and right are the
resident's own, as they hear the instruction: turning to their left moves the nose toward
the image's right in an unmirrored frame, as cameras deliver them. A client that mirrors
frames before upload (a selfie preview drawn flipped) swaps left and right.

The constants come from ORL's photos (bench/liveness.py prints the figures). A still photo
moved, resized and JPEG re-encoded changed its yaw by 0.053 at most (0.027 for 99 frames in
100), the same photo tilted like a print held at up to 30 degrees by 0.10 at most. ORL's
subjects were not asked to turn; from each one's median yaw, 10 of 18 turned 0.12 or more in
some photo, up to 0.24.

Landmarks alone are not enough: a print swivelled close to a wide-angle camera moves them as
a turn does (dlib's model puts the points where a turned face's would be; 22% of rocked
tries passed at 0.85 print-widths in a review's measurement). So the two deciding frames must
also not line up as a flat picture's would (planar.flatness, FLAT_MIN).

What it does not catch: a glossy print under a lamp whose glare moves in every frame (7 to
15% of the bench's six-frame tries pass: the glare drags the landmarks and the alignments),
a video of the resident turning (replayed on a screen), a mask, a print bent round a curve,
or two photos of the resident, one frontal and one turned, swapped in front of the camera
at the right moment.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from PIL import Image

from hostel.errors import DomainError
from residents.biometrics.face import SAME_PERSON, FaceError, face_describe, face_locate
from residents.biometrics.planar import flatness

MIN_FRAMES = 2  # one facing the camera, one turned
MAX_FRAMES = 8  # each costs a detection and a descriptor: about 0.1 s for a 640x480 frame
# A turn, measured from the first frame. None of 2640 still-photo frames (moved, re-encoded,
# tilted) reads as a turn of 0.12; one in 2640 would of 0.10 (a print tilted 30 degrees).
YAW_MIN = 0.12
# The first frame, facing the camera. Faces are not symmetric: a subject's median yaw is up
# to 0.08 from zero (ORL), and a still photo adds 0.03 of noise.
FRONTAL_MAX = 0.12
# Same person in the frame facing the camera and the turned one: under face.SAME_PERSON
# (0.6, the distance dlib's ResNet is built around). A turn moves the descriptor: ORL's
# frontal to turned photos of one subject reach 0.53, so the identification threshold (0.5)
# would refuse real turns. Two ORL subjects are under 0.6 in 2.9% of pairs (median 0.74):
# this check catches a swap of faces, it does not identify anyone.
# The share of the face's blocks that one homography moves from the frame facing the camera
# to the turned one (planar.flatness) at or over which what turned is flat. bench/liveness.py
# (blocks compared by their detail): prints swivelled or tilted 0.7 to 3 widths from the
# camera, lit unevenly, JPEG-compressed, 0.75 and up (981 pairs, median 1.0); ORL's frontal
# and turned photos of one subject 0.68 at most (214 pairs, median 0.38). ORL's turned
# photos are separate sittings: a live head turning in one take may keep more of its blocks
# on one homography, and would then be refused as flat.
FLAT_MIN = 0.75
DIRECTIONS = ("left", "right")
# For the guard, after a refusal that may be of a real resident who did not turn enough.
AGAIN = "Refused again? Ask for the pass, or use Manual entry."
T = TypeVar("T")


class LivenessError(DomainError):
    """Not shown to be a live person. Codes: "invalid", "too_few_frames", "too_many_frames",
    "no_face", "several_faces", "not_frontal", "different_people", "wrong_direction",
    "not_live"."""


@dataclass(frozen=True)
class LivenessResult:
    descriptor: np.ndarray  # of the frame facing the camera most squarely: the one to identify
    yaws: tuple[float, ...]  # every frame's, in order (positive: turned to their left)
    turned: int  # index of the frame turned furthest in the asked direction
    frontal: int  # index of the frame facing the camera, whose descriptor is the one above


def yaw(points: np.ndarray) -> float:
    """How far a head is turned, from dlib's five landmarks (face.Observation.points).

    The base of the nose's offset from the midpoint of the eyes, along the line through the
    eyes, in eye-to-eye distances: 0 facing the camera, positive turned to the person's own
    left (the nose toward the image's right), negative to their right. Measured along the
    eyes' line, it ignores a tilted head; as a ratio, the face's size and a flat picture
    being shifted, scaled, rotated or squeezed."""
    left_eye = points[0:2].mean(axis=0)  # the person's left, on the image's right
    right_eye = points[2:4].mean(axis=0)
    across = left_eye - right_eye
    span = float(np.dot(across, across))
    if span == 0.0:
        return 0.0
    return float(np.dot(points[4] - (left_eye + right_eye) / 2, across)) / span


def liveness_check(frames: Sequence[Image.Image], direction: str) -> LivenessResult:
    """Frames in the order taken, one of them facing the camera; ``direction`` the turn
    asked for, "left" or "right" (the resident's own). LivenessError says what failed."""
    if direction not in DIRECTIONS:
        raise LivenessError("invalid", 'The direction of the turn is "left" or "right".')
    if len(frames) < MIN_FRAMES:
        raise LivenessError(
            "too_few_frames", f"At least {MIN_FRAMES} frames: one facing the camera, one turned."
        )
    if len(frames) > MAX_FRAMES:
        raise LivenessError("too_many_frames", f"At most {MAX_FRAMES} frames.")
    located = [_seen(face_locate, frame, number) for number, frame in enumerate(frames, 1)]
    yaws = tuple(yaw(each.points) for each in located)
    frontal = min(range(len(yaws)), key=lambda n: abs(yaws[n]))
    if abs(yaws[frontal]) > FRONTAL_MAX:
        raise LivenessError(
            "not_frontal", "Look straight at the camera first, then turn your head when asked."
        )
    sign = 1.0 if direction == "left" else -1.0
    turns = [sign * (each - yaws[frontal]) for each in yaws]
    turned = max(range(len(turns)), key=turns.__getitem__)
    if turns[turned] >= YAW_MIN:
        seen = [located[frontal], located[turned]]
        if flatness(seen[0].pixels, seen[0].points, seen[1].pixels, seen[1].points) >= FLAT_MIN:
            raise LivenessError(
                "not_live",
                "The face moved as a flat picture does, not as a head turns: a photo or a "
                "screen held up to the camera cannot pass. Scan again, the resident turning "
                f"their own head the way the screen asks. {AGAIN}",
            )
        # Only these two frames decide, so only they are described (56 ms each), from the
        # landmarks already found.
        reference = face_describe(located[frontal])
        other = face_describe(located[turned])
        if float(np.linalg.norm(other - reference)) >= SAME_PERSON:
            raise LivenessError(
                "different_people",
                f"Frame {turned + 1} shows someone other than frame {frontal + 1}: one "
                "person, the same throughout.",
            )
        return LivenessResult(reference, yaws, turned, frontal)
    if min(turns) <= -YAW_MIN:
        wrong = "right" if direction == "left" else "left"
        raise LivenessError(
            "wrong_direction",
            f"The head turned to the {wrong}, not the {direction}: scan again, and turn the "
            "way the screen asks.",
        )
    raise LivenessError(
        "not_live",
        "The head did not turn. Scan again, and turn your head the way the screen asks; a "
        f"photo or a screen held up to the camera cannot pass. {AGAIN}",
    )


def _seen(look: Callable[[Image.Image], T], frame: Image.Image, number: int) -> T:
    """``look`` at a frame; its FaceError as a LivenessError naming the frame."""
    try:
        return look(frame)
    except FaceError as error:
        raise LivenessError(error.code, f"Frame {number}: {error.message}") from error
