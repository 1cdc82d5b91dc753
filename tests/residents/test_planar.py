"""planar.flatness: a flat picture moved as a print or a screen is moved lines up with itself
by a homography; a head that turned does not."""

import numpy as np
from PIL import Image, ImageEnhance

from residents.biometrics import face, liveness, planar
from tests import videos


def located(picture: Image.Image) -> face.Located:
    return face.face_locate(picture)


def score(first: Image.Image, second: Image.Image) -> float:
    a, b = located(first), located(second)
    return planar.flatness(a.pixels, a.points, b.pixels, b.points)


def test_a_print_swivelled_and_tilted_lines_up_with_itself() -> None:
    frontal = videos.camera_frame(Image.open(videos.FRONTAL))
    for degrees, axis, distance in ((30, "v", 0.7), (-40, "v", 0.85), (20, "h", 1.0)):
        moved = videos.tilted_print(frontal, degrees, axis=axis, distance=distance)

        assert score(frontal, moved) >= liveness.FLAT_MIN, (degrees, axis, distance)


def test_a_print_lit_unevenly_still_lines_up() -> None:
    """Brighter overall and brighter toward one side, as a print turned to a lamp."""
    frontal = videos.camera_frame(Image.open(videos.FRONTAL))
    turned = videos.tilted_print(frontal, 30, distance=0.85)
    pixels = np.asarray(ImageEnhance.Brightness(turned).enhance(1.2), dtype=np.float64)
    ramp = np.linspace(0.85, 1.15, pixels.shape[1])[None, :, None]
    lit = Image.fromarray(np.clip(pixels * ramp, 0, 255).astype(np.uint8))

    assert score(frontal, lit) >= liveness.FLAT_MIN


def test_a_head_that_turned_does_not_line_up() -> None:
    frontal = videos.camera_frame(Image.open(videos.FRONTAL))
    for turned in (videos.TURNED_LEFT, videos.TURNED_RIGHT):
        assert score(frontal, videos.camera_frame(Image.open(turned))) < 0.95


def test_landmarks_without_an_eye_span_are_not_flat() -> None:
    pixels = np.zeros((64, 64, 3), dtype=np.uint8)
    points = np.full((5, 2), 30.0)

    assert planar.flatness(pixels, points, pixels, points) == 0.0
