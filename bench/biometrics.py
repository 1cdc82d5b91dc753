"""Face recognition measured on the real photos in ../shared/data/faces (voice: to come).

    python bench/biometrics.py [--data ../shared/data]

Every photo with exactly one face found is embedded once. All pairs within a dataset are
compared (genuine: same person; impostor: different people), per dataset and pooled. Printed:
the equal error rate; false accept and false reject rates at the default threshold; the
1:N decision at the default threshold and margin with each photo as a probe against one
enrolled photo per other person (leave-one-out: the probe's own photo is never enrolled);
the time to embed a 640x480 photo; and the time of one vectorised 1:N search over random
unit-norm galleries of 1k, 10k and 100k residents. Nothing is asserted.
"""

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from residents.biometrics import face  # noqa: E402

DATASETS = ("ageitgey", "yale", "orl")


def load(data: Path) -> dict[str, list[tuple[str, np.ndarray]]]:
    """dataset -> [(person, embedding)], skipping photos without exactly one face."""
    out: dict[str, list[tuple[str, np.ndarray]]] = {}
    for dataset in DATASETS:
        rows, skipped = [], 0
        for path in sorted((data / "faces" / dataset).glob("*/*")):
            if path.suffix.lower() not in (".jpg", ".png", ".jpeg"):
                continue
            try:
                rows.append((path.parent.name, face.face_embed(Image.open(path))))
            except face.FaceError:
                skipped += 1
        out[dataset] = rows
        print(f"# {dataset}: {len(rows)} photos embedded, {skipped} without exactly one face")
    return out


def pair_distances(rows):
    genuine, impostor = [], []
    for (p1, e1), (p2, e2) in itertools.combinations(rows, 2):
        (genuine if p1 == p2 else impostor).append(float(np.linalg.norm(e1 - e2)))
    return np.array(genuine), np.array(impostor)


def eer(genuine, impostor) -> tuple[float, float]:
    """The equal error rate and the threshold where false accepts first reach false rejects."""
    for t in np.linspace(0.2, 1.0, 801):
        far, frr = np.mean(impostor < t), np.mean(genuine >= t)
        if far >= frr:
            return (far + frr) / 2, float(t)
    return 1.0, 1.0


def row(*cells: object) -> None:
    print("| " + " | ".join(str(cell) for cell in cells) + " |")


def identification(rows, threshold, margin) -> dict[str, float]:
    """Each photo probes a gallery of one other photo per person (its own never included)."""
    people = sorted({p for p, _ in rows})
    accepted_right = accepted_wrong = refused = rank1 = probes = 0
    for i, (person, probe) in enumerate(rows):
        gallery_people, gallery = [], []
        for other in people:
            candidates = [e for j, (p, e) in enumerate(rows) if p == other and j != i]
            if candidates:
                gallery_people.append(other)
                gallery.append(candidates[0])
        if person not in gallery_people:
            continue  # nobody to recognise: this person has one photo only
        probes += 1
        matrix = np.stack(gallery)
        match, best = face.face_identify(probe, matrix, threshold=threshold, margin=margin)
        rank1 += gallery_people[best.index] == person
        if match is None:
            refused += 1
        elif gallery_people[match.index] == person:
            accepted_right += 1
        else:
            accepted_wrong += 1
    return {
        "probes": probes,
        "rank1": rank1 / probes,
        "accept_right": accepted_right / probes,
        "accept_wrong": accepted_wrong / probes,
        "refused": refused / probes,
    }


def timings() -> None:
    photo = Image.open(ROOT / "tests" / "fixtures" / "faces" / "obama_640x480.jpg")
    face.face_embed(photo)
    runs = []
    for _ in range(10):
        began = time.perf_counter()
        face.face_embed(photo)
        runs.append(time.perf_counter() - began)
    print(f"embed one 640x480 photo: median {statistics.median(runs) * 1000:.0f} ms of 10")
    rng = np.random.default_rng(7)
    for n in (1_000, 10_000, 100_000):
        gallery = rng.normal(size=(n, face.DIMENSIONS)).astype(np.float32)
        gallery /= np.linalg.norm(gallery, axis=1, keepdims=True) / 0.6
        probe = gallery[n // 2] + 0.01
        runs = []
        for _ in range(20):
            began = time.perf_counter()
            face.face_identify(probe, gallery, threshold=0.5, margin=0.05)
            runs.append(time.perf_counter() - began)
        median_ms = statistics.median(runs) * 1000
        print(f"1:N search over {n:>7,} residents: median {median_ms:.2f} ms of 20")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument(
        "--threshold", type=float, nargs="+", default=[0.45, 0.48, 0.50, 0.53, 0.55, 0.60]
    )
    parser.add_argument("--margin", type=float, nargs="+", default=[0.0, 0.03, 0.05, 0.08])
    args = parser.parse_args()
    rows = load(args.data)
    print()
    row(
        "set",
        "genuine pairs",
        "impostor pairs",
        "mean genuine",
        "mean impostor",
        "closest impostor",
        "EER (at t)",
    )
    row(*["---"] * 7)
    pooled_g, pooled_i = [], []
    for dataset, items in rows.items():
        g, i = pair_distances(items)
        pooled_g.append(g)
        pooled_i.append(i)
        rate, t = eer(g, i)
        row(
            dataset,
            g.size,
            i.size,
            f"{g.mean():.3f}",
            f"{i.mean():.3f}",
            f"{i.min():.3f}",
            f"{rate:.2%} ({t:.2f})",
        )
    g, i = np.concatenate(pooled_g), np.concatenate(pooled_i)
    rate, t = eer(g, i)
    row(
        "pooled",
        g.size,
        i.size,
        f"{g.mean():.3f}",
        f"{i.mean():.3f}",
        f"{i.min():.3f}",
        f"{rate:.2%} ({t:.2f})",
    )
    print("\n| threshold | FAR (pairs) | FRR (pairs) |")
    print("|---|---|---|")
    for threshold in args.threshold:
        print(f"| {threshold:.2f} | {np.mean(i < threshold):.3%} | {np.mean(g >= threshold):.2%} |")
    everyone = [r for items in rows.values() for r in items]
    print("\n1:N, pooled, leave-one-out (one enrolled photo per person):")
    print("| threshold | margin | rank-1 | accepted, right | accepted, WRONG | refused |")
    print("|---|---|---|---|---|---|")
    for threshold in args.threshold:
        for margin in args.margin:
            r = identification(everyone, threshold, margin)
            row(
                f"{threshold:.2f}",
                f"{margin:.2f}",
                f"{r['rank1']:.1%}",
                f"{r['accept_right']:.1%}",
                f"{r['accept_wrong']:.2%}",
                f"{r['refused']:.1%}",
            )
    print()
    timings()


if __name__ == "__main__":
    main()
