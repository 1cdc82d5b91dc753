"""Is the face that turned in front of the camera flat? Pure (numpy and Pillow).

A flat picture, a print or a phone's screen, is seen by a camera through a homography
whatever way it is held, moved, tilted or swivelled, and at any distance: every part of the
face in one frame moves to the other frame by one homography (eight numbers). A head is not
flat. When it turns, the nose moves across the cheek behind it, the far cheek narrows and
hides, the near one widens: no homography moves every part. Landmarks cannot tell the two
apart reliably, because dlib's landmark model places the points where a face's would be,
and a print swivelled close to a wide camera is foreshortened the way a turned head is; the
pixels can.

flatness() takes the face square of the frame facing the camera (``HALF_SIDE`` eye spans
either side of the point between the eyes and the nose), lines the turned frame up with it
(the landmarks' affine fit, refined by a robust Levenberg-Marquardt fit of a homography and
a change of brightness, coarse to fine), then looks for each textured 11 x 11 block of the
frontal square in the turned one by the correlation of its detail: its smooth part (mean,
slopes, curvature) taken out, so that uneven light, a shadow's soft edge and a glare spot's
halo do not count, and a block with a saturated pixel (under glare) found nowhere. It
returns the largest fraction of the found blocks that one homography carries to where they
were found (RANSAC): 1 for a flat picture, about a third for a head that turned
(bench/liveness.py prints both). A block under glare or a finger is not found and does not
count; a fit that cannot be made counts as flat, and one that only one alignment can judge
counts ALONE flatter.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image, ImageFilter

HALF_SIDE = 0.7  # the face square's half side, in eye spans: cheeks, not the face's edges
STAGES = ((16, 2.5), (32, 1.0), (48, 1.0))  # samples a side, and blur in samples
STEPS = 30  # Gauss-Newton steps a stage, at most
PARAMETERS = 12  # the homography's eight, and gain, offset and a brightness slope in x and y
TUKEY = 4.685  # Tukey's biweight constant (95% efficiency on Gaussian noise)
# What too little to judge by reports: "flat", so that the check refuses (fails closed).
FAILED_FIT = 1.0
FINE = 64  # samples a side of the face square, for the blocks' displacements
BLOCK = 5  # a block reaches this many samples from its centre (11 x 11)
SEARCH = 12  # and is looked for this many samples around where the homography puts it
MATCHED = 0.8  # a block found at a correlation under this is not counted (glare, a finger)
TEXTURED = 4.0  # grey levels: a flatter block (a plain cheek, a washed-out one) says nothing
STILL = 1.0  # samples: a block found this close to where the homography put it did not move
BLOCKS_MIN = 12  # fewer blocks found: too little to judge, counted as flat (fails closed)
RANSAC_TRIES = 200
SATURATED = 248.0  # grey level: a block with a pixel this bright is under glare
# Added to the share when only one of the two alignments finds enough blocks: something (a
# moving glare spot, most often) threw the other off, and the one left must show the turn
# more clearly. bench/liveness.py: of ORL's real turns, 10 of 214 pairs are judged by one
# alignment, at 0.38 at most; of its glossy prints, about a third, spread from 0.17 to 1.
ALONE = 0.3


def flatness(
    frontal: np.ndarray, frontal_points: np.ndarray, turned: np.ndarray, turned_points: np.ndarray
) -> float:
    """How well a flat picture's motion explains the change from ``frontal`` to ``turned``:
    the fraction (up to 1) of the frontal face square's blocks, found in the turned frame,
    that one homography carries there. Arrays are RGB or grey,
    points the five landmarks (face.Located) in those arrays' pixels."""
    span = _eye_span(frontal_points)
    if span < 1.0:
        return FAILED_FIT
    square = _square(frontal_points, span)  # patch -> frontal pixels
    patch_points = np.linalg.solve(square, _homogeneous(frontal_points).T).T
    landmarks = _affine(patch_points, turned_points)  # patch -> turned pixels, roughly
    patch = np.eye(3)  # the homography within the patch that refines it
    for samples, blur in STAGES:
        pixels_per_sample = 2.0 * HALF_SIDE * span / samples
        uv = _patch_points(samples)
        reference = _sample(_grey(frontal, blur * pixels_per_sample), _apply(square, uv))
        fitted = _align(_grey(turned, blur * pixels_per_sample), landmarks, patch, uv, reference)
        if fitted is None:
            break
        patch = fitted
    # The two faces, lined up by the homography, sampled finely: where does each block of
    # the frontal face lie in the turned one?
    pixels_per_sample = 2.0 * HALF_SIDE * span / FINE
    uv = _patch_points(FINE)
    first = _sample(_grey(frontal, pixels_per_sample), _apply(square, uv)).reshape(FINE, FINE)
    image = _grey(turned, pixels_per_sample)
    fractions = []
    # By the fitted homography, and by the landmarks alone: glare or a shadow that moves
    # with each frame can pull the fit far off, where no block is found near its place.
    # One of the two with too few blocks found: the other judges, handicapped by ALONE;
    # both: too little to judge.
    for warp in (patch, np.eye(3)):
        second = _sample(image, _apply(landmarks, _apply(warp, uv)))
        fraction = _still_fraction(first, second.reshape(FINE, FINE))
        if fraction is not None:
            fractions.append(fraction)
    if not fractions:
        return FAILED_FIT
    return max(fractions) if len(fractions) == 2 else min(fractions[0] + ALONE, FAILED_FIT)


def _eye_span(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[0:2].mean(axis=0) - points[2:4].mean(axis=0)))


def _square(points: np.ndarray, span: float) -> np.ndarray:
    """Patch coordinates (-1..1 each way) to pixels: a square along the eyes' line, centred
    between the eyes' midpoint and the nose, reaching HALF_SIDE eye spans each way."""
    left, right = points[0:2].mean(axis=0), points[2:4].mean(axis=0)
    across = (left - right) / span
    down = np.array([-across[1], across[0]])
    centre = ((left + right) / 2 + points[4]) / 2
    half = HALF_SIDE * span
    return np.array(
        [
            [across[0] * half, down[0] * half, centre[0]],
            [across[1] * half, down[1] * half, centre[1]],
            [0.0, 0.0, 1.0],
        ]
    )


def _homogeneous(points: np.ndarray) -> np.ndarray:
    return np.column_stack([points, np.ones(len(points))])


def _affine(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The least-squares affine map of ``source`` (homogeneous, n x 3) onto ``target``
    (n x 2), in pixels, as a 3 x 3 matrix."""
    rows, *_ = np.linalg.lstsq(source, target, rcond=None)
    return np.vstack([rows.T, [0.0, 0.0, 1.0]])


def _grey(pixels: np.ndarray, blur: float) -> np.ndarray:
    picture = Image.fromarray(np.asarray(pixels, dtype=np.uint8)).convert("L")
    if blur > 0.3:
        picture = picture.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(picture, dtype=np.float64)


def _patch_points(samples: int) -> np.ndarray:
    axis = np.linspace(-1.0, 1.0, samples)
    u, v = np.meshgrid(axis, axis)
    return np.column_stack([u.ravel(), v.ravel()])


def _apply(matrix: np.ndarray, uv: np.ndarray) -> np.ndarray:
    mapped = _homogeneous(uv) @ matrix.T
    return mapped[:, :2] / mapped[:, 2:3]


def _sample(image: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``image`` at ``xy`` (n x 2), edges repeated outside."""
    height, width = image.shape
    x = np.clip(xy[:, 0], 0.0, width - 1.001)
    y = np.clip(xy[:, 1], 0.0, height - 1.001)
    x0, y0 = x.astype(int), y.astype(int)
    fx, fy = x - x0, y - y0
    top = image[y0, x0] * (1 - fx) + image[y0, x0 + 1] * fx
    bottom = image[y0 + 1, x0] * (1 - fx) + image[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _standard(values: np.ndarray) -> np.ndarray:
    spread = values.std()
    return (values - values.mean()) / (spread if spread > 1e-9 else 1.0)


def _align(
    image: np.ndarray, outer: np.ndarray, patch: np.ndarray, uv: np.ndarray, reference: np.ndarray
) -> np.ndarray | None:
    """Levenberg-Marquardt over ``patch``, a homography of the patch's own coordinates that
    the affine ``outer`` then carries into ``image``'s pixels, and over a brightness change
    (gain, offset, slope along u and v), bringing ``image`` closest to ``reference``.

    Robust: each step weighs the samples by Tukey's biweight of their residual, in units of
    the residuals' own median spread, so that a patch of the picture that no homography
    explains while the rest lines up (a glare spot, a shadow's edge, a finger) stops
    counting; when the misfit is everywhere, as a turned head's is, the spread is large and
    every sample keeps its weight. Returns the refined ``patch``; None when the start already
    folds the patch over (w <= 0)."""
    target = _standard(reference)
    grad_y, grad_x = np.gradient(image)
    linear = outer[:2, :2]
    u, v = uv[:, 0], uv[:, 1]
    ones = np.ones_like(u)

    def look(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        mapped = _homogeneous(uv) @ h.T
        if np.any(mapped[:, 2] <= 1e-3):
            return None
        q = mapped[:, :2] / mapped[:, 2:3]
        return q, _apply(outer, q), mapped[:, 2]

    seen_at = look(patch)
    if seen_at is None:
        return None
    seen = _sample(image, seen_at[1])
    spread = max(float(seen.std()), 1e-9)
    brightness = np.array([1.0 / spread, -float(seen.mean()) / spread, 0.0, 0.0])

    def model(seen: np.ndarray, b: np.ndarray) -> np.ndarray:
        return b[0] * seen + b[1] + b[2] * u + b[3] * v

    residual = model(seen, brightness) - target
    weights = _tukey(residual)
    damping = 1e-3
    for _ in range(STEPS):
        q, xy, w = seen_at
        gradient = np.column_stack([_sample(grad_x, xy), _sample(grad_y, xy)]) @ linear
        gu, gv = gradient[:, 0] * brightness[0], gradient[:, 1] * brightness[0]
        along = -(gu * q[:, 0] + gv * q[:, 1])
        jacobian = np.column_stack(
            [gu * u / w, gu * v / w, gu / w, gv * u / w, gv * v / w, gv / w,
             along * u / w, along * v / w, seen, ones, u, v]
        )  # fmt: skip
        weighted = jacobian * weights[:, None]
        normal = jacobian.T @ weighted
        downhill = weighted.T @ residual
        cost = float(weights @ residual**2)
        step = np.zeros(PARAMETERS)
        improved = False
        for _ in range(8):
            step = np.linalg.solve(normal + damping * np.diag(np.diag(normal) + 1e-9), -downhill)
            h = patch + np.append(step[:8], 0.0).reshape(3, 3)
            again = look(h)
            if again is not None:
                trial_seen = _sample(image, again[1])
                trial = model(trial_seen, brightness + step[8:]) - target
                if float(weights @ trial**2) < cost:
                    patch, seen_at, seen, residual = h, again, trial_seen, trial
                    brightness = brightness + step[8:]
                    damping = max(damping / 3, 1e-7)
                    improved = True
                    break
            damping *= 4
        weights = _tukey(residual)
        if not improved or np.abs(step[:8]).max() < 1e-4:
            break
    return patch


def _tukey(residual: np.ndarray) -> np.ndarray:
    """Tukey's biweight of each residual, in units of 4.685 robust standard deviations."""
    scale = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
    if scale < 1e-9:
        return np.ones_like(residual)
    ratio = residual / (TUKEY * scale)
    return np.where(np.abs(ratio) < 1.0, (1.0 - ratio**2) ** 2, 0.0)


def _still_fraction(first: np.ndarray, second: np.ndarray) -> float | None:
    """Of the textured blocks of ``first`` found in ``second`` (best correlation of their
    detail within SEARCH samples at least MATCHED), the fraction found within STILL samples
    of where they are: 1 for a flat picture, less where a head's relief moved parts of the
    face against the rest; None when fewer than BLOCKS_MIN are found. The blocks are
    compared by their detail alone (_detail): a shadow's edge or a glare spot's halo, smooth
    across a block, does not count; a block under glare or a finger is not found and not
    counted."""
    side = 2 * BLOCK + 1
    reach = BLOCK + SEARCH
    centres = np.arange(reach, FINE - reach, 4)
    ys, xs = np.meshgrid(centres, centres, indexing="ij")
    # Every block-sized window of ``second``, normalised once: [top, left] -> block.
    windows = _detail(sliding_window_view(second, (side, side)))
    blocks = sliding_window_view(first, (side, side))[ys - BLOCK, xs - BLOCK]
    textured = blocks.std(axis=(2, 3)) >= TEXTURED
    blocks, ys, xs = blocks[textured], ys[textured], xs[textured]
    if len(blocks) < BLOCKS_MIN:
        return None
    blocks = _detail(blocks)
    shifts = [(dy, dx) for dy in range(-SEARCH, SEARCH + 1) for dx in range(-SEARCH, SEARCH + 1)]
    steps = np.array(shifts)
    tops = ys[None, :] + steps[:, :1] - BLOCK  # shift x block
    lefts = xs[None, :] + steps[:, 1:] - BLOCK
    scores = np.einsum("snij,nij->sn", windows[tops, lefts], blocks)  # shift x block
    best = scores.argmax(axis=0)
    matched = scores.max(axis=0) >= MATCHED
    if matched.sum() < BLOCKS_MIN:
        return None
    here = np.column_stack([xs, ys]).astype(np.float64)[matched]
    there = here + np.array(shifts, dtype=np.float64)[best][matched][:, ::-1]
    return _homography_inliers(here, there)


def _homography_inliers(here: np.ndarray, there: np.ndarray) -> float:
    """The largest fraction of the blocks that one homography carries from ``here`` to
    ``there`` within STILL samples (RANSAC: RANSAC_TRIES homographies through 4 blocks each,
    solved together; seeded, so the same frames give the same answer). The alignment before
    may be off where glare or a shadow pulled it; a flat picture's blocks still all move by
    one homography, a head's do not."""
    rng = np.random.default_rng(0)
    count = len(here)
    picks = np.array([rng.choice(count, 4, replace=False) for _ in range(RANSAC_TRIES)])
    x, y = here[picks, 0], here[picks, 1]  # try x 4
    u, v = there[picks, 0], there[picks, 1]
    zeros, ones = np.zeros_like(x), np.ones_like(x)
    rows = np.concatenate(
        [
            np.stack([x, y, ones, zeros, zeros, zeros, -u * x, -u * y], axis=-1),
            np.stack([zeros, zeros, zeros, x, y, ones, -v * x, -v * y], axis=-1),
        ],
        axis=1,
    )  # try x 8 x 8
    values = np.concatenate([u, v], axis=1)
    solvable = np.abs(np.linalg.det(rows)) > 1e-9  # four blocks in a line fix nothing
    if not solvable.any():
        return FAILED_FIT
    solutions = np.linalg.solve(rows[solvable], values[solvable][..., None])[..., 0]
    matrices = np.concatenate([solutions, np.ones((len(solutions), 1))], axis=1).reshape(-1, 3, 3)
    mapped = np.einsum("tij,nj->tni", matrices, _homogeneous(here))
    with np.errstate(divide="ignore", invalid="ignore"):
        landed = mapped[..., :2] / mapped[..., 2:3]
        distances = np.hypot(*np.moveaxis(landed - there[None], -1, 0))
    inliers = (np.nan_to_num(distances, nan=np.inf) <= STILL).sum(axis=1)
    return float(inliers.max()) / count


def _smooth_basis(side: int) -> np.ndarray:
    """An orthonormal basis (side*side x 6) of the block's smooth surfaces: constant, the
    two slopes, and the three quadratic terms."""
    axis = np.linspace(-1.0, 1.0, side)
    y, x = np.meshgrid(axis, axis, indexing="ij")
    surfaces = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y]).reshape(6, -1).T
    basis, _ = np.linalg.qr(surfaces)
    return basis


SMOOTH = _smooth_basis(2 * BLOCK + 1)


def _detail(blocks: np.ndarray) -> np.ndarray:
    """Each block (the last two axes) less its smoothest part (SMOOTH: its mean, slopes and
    curvature: lighting, a shadow's soft edge, a glare spot's halo), scaled to unit norm;
    zero (found nowhere) for a block without detail or with a pixel at SATURATED (under
    glare nothing of the surface shows)."""
    shape = blocks.shape
    flat = blocks.reshape(*shape[:-2], shape[-2] * shape[-1])
    detail = flat - (flat @ SMOOTH) @ SMOOTH.T
    norms = np.sqrt((detail**2).sum(axis=-1, keepdims=True))
    usable = (norms > 1e-9) & (flat.max(axis=-1, keepdims=True) < SATURATED)
    unit = np.divide(detail, norms, out=np.zeros_like(detail), where=usable)
    return unit.reshape(shape)
