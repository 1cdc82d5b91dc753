"""planar.flatness: a flat picture moved as a print or a screen is moved lines up with itself
by a homography; a head that turned does not."""

import numpy as np
import pytest
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
        assert score(frontal, videos.camera_frame(Image.open(turned))) < liveness.FLAT_MIN


def test_a_finger_over_a_swivelled_print_does_not_make_it_a_head() -> None:
    """A review's finger over a cheek in the turned frame let 6 of 54 rocked prints through
    the first version (a correlation of the whole square); now the covered blocks are not
    found and do not count. This one pair guards that."""
    frontal = videos.camera_frame(Image.open(videos.FRONTAL))
    turned = videos.tilted_print(frontal, 30, distance=0.85)
    points = located(turned).points
    pixels = np.asarray(turned, dtype=np.float64).copy()
    span = float(np.linalg.norm(points[0:2].mean(axis=0) - points[2:4].mean(axis=0)))
    x, y = points[4] + np.array([0.6 * span, -0.1 * span])
    pixels[int(y) :, int(x - 0.18 * span) : int(x + 0.18 * span)] = 170  # a finger from below

    assert score(frontal, Image.fromarray(pixels.astype(np.uint8))) >= liveness.FLAT_MIN


@pytest.mark.xfail(
    strict=True,
    reason="known gap (README, 'What it does not stop'): a shadow's edge across the face "
    "moves blocks off one homography; this passes once it is closed",
)
def test_a_shadow_across_a_swivelled_print_does_not_make_it_a_head() -> None:
    """Found in review: a soft shadow over part of the print (45% of the light) let prints
    through. Still open: the blocks the shadow's edge crosses, and the fit it pulls, keep
    about 0.55-0.7 of the blocks on one homography, a head's share."""
    frontal = videos.camera_frame(Image.open(videos.FRONTAL))
    turned = np.asarray(videos.tilted_print(frontal, -30, distance=0.85), dtype=np.float64)
    across = np.arange(turned.shape[1])[None, :, None]
    shade = 0.45 + 0.55 / (1 + np.exp(-(across - turned.shape[1] * 0.55) / 6))
    shadowed = Image.fromarray(np.clip(turned * shade, 0, 255).astype(np.uint8))

    assert score(frontal, shadowed) >= liveness.FLAT_MIN


def test_too_little_to_judge_by_counts_as_flat_so_the_check_fails_closed() -> None:
    """A face square without texture (or with every block under glare) holds no block to
    find: flat, so the live-person check refuses it rather than lets it pass."""
    plain = np.full((448, 368, 3), 128, dtype=np.uint8)
    points = located(videos.camera_frame(Image.open(videos.FRONTAL))).points

    assert planar.flatness(plain, points, plain, points) == planar.FAILED_FIT


def test_landmarks_without_an_eye_span_count_as_flat_so_the_check_fails_closed() -> None:
    pixels = np.zeros((64, 64, 3), dtype=np.uint8)
    points = np.full((5, 2), 30.0)

    assert planar.flatness(pixels, points, pixels, points) == planar.FAILED_FIT
