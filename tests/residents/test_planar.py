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


def test_a_shadow_across_a_swivelled_print_does_not_make_it_a_head() -> None:
    """Found in review: a soft shadow over part of the print (45% of the light) let prints
    through: the blocks its edge crossed were matched off their place (0.64 here). Blocks
    are now compared by their detail, their smooth part (a shadow's edge) taken out."""
    frontal = videos.camera_frame(Image.open(videos.FRONTAL))
    turned = np.asarray(videos.tilted_print(frontal, -30, distance=0.85), dtype=np.float64)
    across = np.arange(turned.shape[1])[None, :, None]
    shade = 0.45 + 0.55 / (1 + np.exp(-(across - turned.shape[1] * 0.55) / 6))
    shadowed = Image.fromarray(np.clip(turned * shade, 0, 255).astype(np.uint8))

    assert score(frontal, shadowed) >= liveness.FLAT_MIN


def glare(picture: Image.Image, centre: np.ndarray, sigma: float, amount: float) -> Image.Image:
    pixels = np.asarray(picture, dtype=np.float64)
    y, x = np.mgrid[0 : pixels.shape[0], 0 : pixels.shape[1]]
    spot = amount * np.exp(-((x - centre[0]) ** 2 + (y - centre[1]) ** 2) / (2 * sigma**2))
    return Image.fromarray(np.clip(pixels + spot[..., None], 0, 255).astype(np.uint8))


def test_a_glare_spot_moving_on_a_glossy_print_does_not_make_it_a_head() -> None:
    """Found in review: a glare spot (+200 grey levels, nose-sized) in another place in each
    frame let a swivelled print through (0.26 here): its halo matched blocks off their
    place. Blocks with a pixel at SATURATED are now found nowhere, and the halo, smooth
    across a block, is taken out with the block's smooth part. Not every placement is
    caught: bench/liveness.py counts the pairs that still pass."""
    frontal = videos.camera_frame(Image.open(videos.FRONTAL))
    turned = videos.tilted_print(frontal, -30, distance=0.85)
    facing, swivelled = located(frontal).points, located(turned).points
    span = planar._eye_span(facing)
    first = glare(frontal, facing[4] + np.array([0.2, -0.1]) * span, 0.25 * span, 200)
    second = glare(turned, swivelled[4] + np.array([-0.3, 0.2]) * span, 0.25 * span, 200)

    assert score(first, second) >= liveness.FLAT_MIN


def test_glare_that_throws_one_alignment_off_leaves_the_other_a_stricter_judge() -> None:
    """Found: where a glare spot pulled the fitted alignment off (too few blocks found
    there), the landmarks' alignment judged alone, as if nothing were wrong, and passed
    this print at 0.57; about half of the glossy prints bench/liveness.py let through came
    this way. A lone alignment now counts planar.ALONE flatter."""
    frontal = videos.camera_frame(Image.open(videos.FRONTAL))
    turned = videos.tilted_print(frontal, 30, distance=0.85)
    facing, swivelled = located(frontal).points, located(turned).points
    span = planar._eye_span(facing)
    first = glare(frontal, facing[4] + np.array([0.3, 0.0]) * span, 0.25 * span, 200)
    second = glare(turned, swivelled[4] + np.array([-0.3, 0.0]) * span, 0.25 * span, 200)

    assert score(first, second) >= liveness.FLAT_MIN


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
