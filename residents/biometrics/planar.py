"""Is the face that turned in front of the camera flat? Pure (numpy and Pillow).

A flat picture, a print or a phone's screen, is seen by a camera through a homography
whatever way it is held, moved, tilted or swivelled, and at any distance: so the face in one
frame can be warped onto the face in another by a homography (eight numbers) and a change
of brightness across it. A head is not flat. When it turns, the nose moves across the
cheek behind it, the far cheek narrows and hides, the near one widens: no homography lines
the two faces up. Landmarks cannot tell the two apart reliably, because dlib's landmark
model places the points where a face's would be, and a print swivelled close to a wide
camera is foreshortened the way a turned head is; the pixels can.

flatness() takes the face square of the frame facing the camera (from the eyes' line to
below the mouth, ``HALF_SIDE`` eye spans either side of its centre), finds the homography
and the brightness change that bring the turned frame closest to it (Gauss-Newton from the
landmarks' affine fit, coarse then fine), and returns the correlation left: about 1 for a
flat picture, lower for a head that turned (bench/liveness.py prints both).
"""

import numpy as np
from PIL import Image, ImageFilter

HALF_SIDE = 0.7  # the face square's half side, in eye spans: cheeks, not the face's edges
STAGES = ((16, 2.5), (32, 1.0), (48, 1.0))  # samples a side, and blur in samples
STEPS = 30  # Gauss-Newton steps a stage, at most
PARAMETERS = 12  # the homography's eight, and gain, offset and a brightness slope in x and y


def flatness(
    frontal: np.ndarray, frontal_points: np.ndarray, turned: np.ndarray, turned_points: np.ndarray
) -> float:
    """How well a flat picture's motion explains the change from ``frontal`` to ``turned``:
    the correlation (up to 1) between the frontal frame's face square and the turned frame
    warped onto it by the best homography and brightness change. Arrays are RGB or grey,
    points the five landmarks (face.Located) in those arrays' pixels."""
    span = _eye_span(frontal_points)
    if span < 1.0:
        return 0.0
    square = _square(frontal_points, span)  # patch -> frontal pixels
    patch_points = np.linalg.solve(square, _homogeneous(frontal_points).T).T
    landmarks = _affine(patch_points, turned_points)  # patch -> turned pixels, roughly
    patch = np.eye(3)  # the homography within the patch that refines it
    score = 0.0
    for samples, blur in STAGES:
        pixels_per_sample = 2.0 * HALF_SIDE * span / samples
        uv = _patch_points(samples)
        reference = _sample(_grey(frontal, blur * pixels_per_sample), _apply(square, uv))
        patch, score = _align(
            _grey(turned, blur * pixels_per_sample), landmarks, patch, uv, reference
        )
    return score


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
) -> tuple[np.ndarray, float]:
    """Levenberg-Marquardt over ``patch``, a homography of the patch's own coordinates that
    the affine ``outer`` then carries into ``image``'s pixels, and over a brightness change
    (gain, offset, slope along u and v), bringing ``image`` closest to ``reference``.
    Returns the refined ``patch`` and the correlation reached."""
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
        return patch, 0.0
    seen = _sample(image, seen_at[1])
    brightness = np.array([1.0 / max(seen.std(), 1e-9), -seen.mean() / max(seen.std(), 1e-9), 0, 0])

    def cost(seen: np.ndarray, b: np.ndarray) -> np.ndarray:
        return b[0] * seen + b[1] + b[2] * u + b[3] * v - target

    residual = cost(seen, brightness)
    damping = 1e-3
    for _ in range(STEPS):
        q, xy, w = seen_at
        gradient = np.column_stack([_sample(grad_x, xy), _sample(grad_y, xy)]) @ linear
        gu, gv = gradient[:, 0] * brightness[0], gradient[:, 1] * brightness[0]
        along = -(gu * q[:, 0] + gv * q[:, 1])
        jacobian = np.column_stack(
            [
                gu * u / w,
                gu * v / w,
                gu / w,
                gv * u / w,
                gv * v / w,
                gv / w,
                along * u / w,
                along * v / w,
                seen,
                ones,
                u,
                v,
            ]
        )
        normal = jacobian.T @ jacobian
        gradient_of_cost = jacobian.T @ residual
        improved = False
        for _ in range(8):
            step = np.linalg.solve(
                normal + damping * np.diag(np.diag(normal) + 1e-9), -gradient_of_cost
            )
            h = patch + np.append(step[:8], 0.0).reshape(3, 3)
            again = look(h)
            if again is not None:
                trial_seen = _sample(image, again[1])
                trial = cost(trial_seen, brightness + step[8:])
                if trial @ trial < residual @ residual:
                    patch, seen_at, seen, residual = h, again, trial_seen, trial
                    brightness = brightness + step[8:]
                    damping = max(damping / 3, 1e-7)
                    improved = True
                    break
            damping *= 4
        if not improved or np.abs(step[:8]).max() < 1e-4:
            break
    model = residual + target
    return patch, float(np.mean(_standard(model) * target))
