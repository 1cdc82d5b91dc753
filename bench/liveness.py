"""The head-turn liveness check measured on ORL's photos: how far heads turn, how still a
photo stays, and so where YAW_MIN, FRONTAL_MAX and face.SAME_PERSON sit.

    python bench/liveness.py [--data ../shared/data] [--variants 10]

Every ORL photo is put in a camera frame as the fake-camera videos put it (tests/videos.py:
enlarged 3 times on a plain 368x448 background) and read by face.face_observe. Printed:

- the yaw of every photo, by subject (positive: turned to the person's own left);
- per subject, the turns from the subject's median yaw (taken as facing the camera), and
  how many subjects have a turn of at least YAW_MIN to each side;
- a still photo's noise: every photo the frontal check accepts, read again; moved (up to
  4 pixels), resized (up to 3%) and JPEG re-encoded (quality 70-90); and tilted as a print
  held at an angle (15 and 30 degrees about the vertical axis, 20 about the horizontal,
  camera three widths away): the change of yaw from the untouched frame;
- descriptor distances from each frontal photo to the turned photos of the same subject,
  and between subjects, against face.SAME_PERSON;
- a sweep of YAW_MIN: still-photo frames that would read as a turn, subjects with a turn.

ORL's s1 and s2 folders in the shared copy hold colour-era photos against busy backgrounds,
not ORL's dark studio: they are printed but left out of the summaries. Nothing is asserted.
"""

import argparse
import io
import statistics
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from residents.biometrics import face, liveness  # noqa: E402
from tests.videos import camera_frame  # noqa: E402

OUTSIDERS = ("s1", "s2")  # not ORL's own sittings (see the docstring)


def observe(picture: Image.Image) -> face.Observation | None:
    try:
        return face.face_observe(picture)
    except face.FaceError:
        return None


def tilted(picture: Image.Image, degrees: float, axis: str) -> Image.Image:
    """``picture`` as a flat print turned by ``degrees`` about its vertical ("v") or
    horizontal ("h") axis, seen by a pinhole camera three picture-widths away."""
    width, height = picture.size
    focal, angle = 3 * width, np.radians(degrees)

    def seen(x: float, y: float) -> tuple[float, float]:
        across, down, depth = x - width / 2, y - height / 2, 0.0
        if axis == "v":
            across, depth = across * np.cos(angle), across * np.sin(angle)
        else:
            down, depth = down * np.cos(angle), down * np.sin(angle)
        shrink = focal / (focal + depth)
        return across * shrink + width / 2, down * shrink + height / 2

    corners = [(0.0, 0.0), (width, 0.0), (width, height), (0.0, height)]
    rows, values = [], []
    for (u, v), (x, y) in zip(corners, [seen(*c) for c in corners], strict=True):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        values += [u, v]
    coefficients = np.linalg.solve(np.array(rows), np.array(values))
    return picture.transform(
        picture.size,
        Image.Transform.PERSPECTIVE,
        tuple(coefficients),
        Image.Resampling.BICUBIC,
        fillcolor=(90, 90, 90),
    )


def moved(photo: Image.Image, rng: np.random.Generator) -> Image.Image:
    frame = camera_frame(
        photo,
        scale=3 * rng.uniform(0.97, 1.03),
        dx=int(rng.integers(-4, 5)),
        dy=int(rng.integers(-4, 5)),
    )
    buffer = io.BytesIO()
    frame.save(buffer, "JPEG", quality=int(rng.integers(70, 91)))
    return Image.open(io.BytesIO(buffer.getvalue()))


def spread(values: list[float]) -> str:
    if not values:
        return "n=0"
    ordered = np.sort(np.abs(values))
    return (
        f"n={len(ordered)} median={np.median(ordered):.3f} p95={np.percentile(ordered, 95):.3f} "
        f"p99={np.percentile(ordered, 99):.3f} max={ordered[-1]:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--variants", type=int, default=10, help="moved copies per photo")
    args = parser.parse_args()
    orl = args.data / "faces" / "orl"
    subjects = sorted((p.name for p in orl.glob("s*")), key=lambda name: int(name[1:]))

    seen: dict[tuple[str, int], face.Observation] = {}
    print("Yaw of every photo (camera frame; +: turned to the person's own left)")
    for subject in subjects:
        cells = []
        for number in range(1, 11):
            found = observe(camera_frame(Image.open(orl / subject / f"{number}.jpg")))
            if found is not None:
                seen[subject, number] = found
            cells.append(f"{liveness.yaw(found.points):+.3f}" if found else "  none")
        mark = "  (not ORL's own, left out)" if subject in OUTSIDERS else ""
        print(f"  {subject:>3}: {' '.join(cells)}{mark}")
    yaws = {key: liveness.yaw(found.points) for key, found in seen.items()}
    kept = [s for s in subjects if s not in OUTSIDERS]

    print(f"\nTurns from each subject's median yaw (YAW_MIN={liveness.YAW_MIN})")
    medians, lefts, rights = {}, 0, 0
    for subject in kept:
        own = {n: y for (s, n), y in yaws.items() if s == subject}
        medians[subject] = statistics.median(own.values())
        left = max(own, key=lambda n: own[n])
        right = min(own, key=lambda n: own[n])
        to_left, to_right = own[left] - medians[subject], medians[subject] - own[right]
        lefts += to_left >= liveness.YAW_MIN
        rights += to_right >= liveness.YAW_MIN
        print(
            f"  {subject:>3}: median {medians[subject]:+.3f}  left {to_left:.3f} (photo {left})"
            f"  right {to_right:.3f} (photo {right})"
        )
    print(f"  subjects turning at least YAW_MIN: {lefts}/{len(kept)} left, {rights} right")
    print(f"  subject medians (frontal bias): {spread(list(medians.values()))}")
    frontal = [key for key in yaws if key[0] in kept and abs(yaws[key]) <= liveness.FRONTAL_MAX]
    print(
        f"  photos within FRONTAL_MAX={liveness.FRONTAL_MAX}: {len(frontal)} of "
        f"{sum(key[0] in kept for key in yaws)}"
    )

    print("\nA still photo: change of yaw from the untouched frame, photos within FRONTAL_MAX")
    rng = np.random.default_rng(0)
    noise: dict[str, list[float]] = {"read again": [], "moved": [], "tilted": []}
    for key in frontal:
        photo = Image.open(orl / key[0] / f"{key[1]}.jpg")
        again = observe(camera_frame(photo))
        if again is not None:
            noise["read again"].append(liveness.yaw(again.points) - yaws[key])
        for _ in range(args.variants):
            found = observe(moved(photo, rng))
            if found is not None:
                noise["moved"].append(liveness.yaw(found.points) - yaws[key])
        for degrees, axis in ((15, "v"), (-15, "v"), (30, "v"), (-30, "v"), (20, "h"), (-20, "h")):
            found = observe(tilted(camera_frame(photo), degrees, axis))
            if found is not None:
                noise["tilted"].append(liveness.yaw(found.points) - yaws[key])
    for kind, values in noise.items():
        print(f"  {kind:>10}: {spread(values)}")

    print(f"\nDescriptor distances (face.SAME_PERSON={face.SAME_PERSON})")
    same, other = [], []
    for a in frontal:
        for b, found in seen.items():
            if b == a or b[0] not in kept:
                continue
            distance = float(np.linalg.norm(found.descriptor - seen[a].descriptor))
            if b[0] != a[0]:
                other.append(distance)
            elif abs(yaws[b] - yaws[a]) >= liveness.YAW_MIN:
                same.append(distance)
    over = sum(d >= face.SAME_PERSON for d in same)
    under = sum(d < face.SAME_PERSON for d in other)
    print(f"  frontal to turned, same subject: {spread(same)}; refused: {over}")
    print(
        f"  frontal to anyone else: min={min(other):.3f} median={np.median(other):.3f}; "
        f"under the limit: {under} of {len(other)} ({under / len(other):.1%})"
    )

    print("\nYAW_MIN sweep: still-photo frames over it (moved + tilted), subjects with a turn")
    still = np.abs(noise["moved"] + noise["tilted"])
    for limit in (0.06, 0.08, 0.10, 0.12, 0.14, 0.16, 0.20):
        both = 0
        for subject in kept:
            turns = [y - medians[subject] for (s, _), y in yaws.items() if s == subject]
            both += max(turns) >= limit and -min(turns) >= limit
        print(
            f"  {limit:.2f}: still frames over it {int((still >= limit).sum())}/{len(still)};"
            f" subjects turning both ways {both}/{len(kept)}"
        )


if __name__ == "__main__":
    main()
