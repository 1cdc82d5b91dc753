"""Face and voice recognition measured on the real photos and recordings in ../shared/data.

    python bench/biometrics.py [--data ../shared/data]

Every photo with exactly one face found is embedded once. All pairs within a dataset are
compared (genuine: same person; impostor: different people), per dataset and pooled. Printed:
the equal error rate; false accept and false reject rates at the default threshold; the
1:N decision at the default threshold and margin with each photo as a probe against one
enrolled photo per other person (leave-one-out: the probe's own photo is never enrolled);
the time to embed a 640x480 photo; and the time of one vectorised 1:N search over random
unit-norm galleries of 1k, 10k and 100k residents.

Voices: FSDD's six speakers, digit recordings concatenated into ~3 s phrases of six digits
(each digit take used once); per speaker the first 3 phrases enrol (mean of normalised
embeddings), every other phrase probes every speaker's voiceprint (cosine similarity):
EER, false accepts and rejects at the default, 1:N at the default threshold and margin, and
the time to embed a 3 s phrase. The speech check (--only speech): how much talking it counts
in genuine 2.5-3 s recordings (FSDD digit takes joined in order; CMU ARCTIC sentences) and
how many it would refuse at enrolment, and that silence, noise and a tone are refused.
Calibration (--calibrate [--target-far 0.001] [--residents]): false accepts and false
rejects per face threshold from 0.40 to 0.65 on the shared sets; with --residents (the
database of DATABASE_URL) how many pairs of this deployment's enrolled residents fall under
each, and, leave-one-out on their own enrolment photos, how many of a resident's photos the
centre of their other photos would refuse and how many fall under another resident's
centre; and the highest threshold that keeps false accepts at or under the target (on the
shared sets and, with --residents, on the residents' own photos).

Enrolment samples (--only samples): the same-person check of an added photo (its own person's
refused, a stranger's accepted, with 1 to 4 photos enrolled); open-set 1:N with 1, 3 or 5
photos enrolled per person,
scored by the closest sample or by their mean, at the highest threshold that accepts no
stranger and no one as someone else (see samples_study).

Face detection (--only detection): the rate of photos with exactly one face found, per set,
on the three sets and on two made from them (tight 92x112 greyscale crops, and photos scaled
so that the face is 48 pixels wide), and what the special cases (no face, two faces) get.
Nothing is asserted.
"""

import argparse
import itertools
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from residents import uploads  # noqa: E402
from residents.biometrics import face, voice  # noqa: E402

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


def derived_sets(data: Path) -> dict[str, list[Image.Image]]:
    """Harder versions of every photo whose face the plain detector finds: a tight crop (the
    face filling a 92x112 greyscale frame, as ORL's photos and passport-style crops are) and
    a small image (the photo scaled so the face is 48 pixels wide, as on a CCTV still)."""
    detector = face._load()[0]
    tight, small = [], []
    for dataset in DATASETS:
        for path in sorted((data / "faces" / dataset).glob("*/*")):
            if path.suffix.lower() not in (".jpg", ".png", ".jpeg"):
                continue
            pixels = face.prepare(Image.open(path))
            found, scores, _ = detector.run(pixels, 1, 0.0)
            boxes = [b for b, s in zip(found, scores, strict=True) if s >= 0.5]
            if len(boxes) != 1:
                continue
            box, photo = boxes[0], Image.fromarray(pixels)
            centre_x, centre_y = box.center().x, box.center().y
            half_w, half_h = box.width() * 0.55, box.width() * 0.67
            crop = photo.crop(
                (
                    max(int(centre_x - half_w), 0),
                    max(int(centre_y - half_h), 0),
                    min(int(centre_x + half_w), photo.width),
                    min(int(centre_y + half_h), photo.height),
                )
            )
            tight.append(crop.convert("L").resize((92, 112), Image.Resampling.LANCZOS))
            scale = 48 / box.width()
            if scale < 1:
                size = (max(round(photo.width * scale), 1), max(round(photo.height * scale), 1))
                small.append(photo.resize(size, Image.Resampling.LANCZOS))
    return {"tight crops, 92x112 grey": tight, "small, face 48 px": small}


def detection(data: Path) -> None:
    """How often exactly one face is found, per set, and that the refusals still hold."""
    sets: dict[str, list[Image.Image]] = {
        dataset: [
            Image.open(path)
            for path in sorted((data / "faces" / dataset).glob("*/*"))
            if path.suffix.lower() in (".jpg", ".png", ".jpeg")
        ]
        for dataset in DATASETS
    }
    sets.update(derived_sets(data))
    print("\n# face detection: exactly one face found")
    row("set", "photos", "one face found", "no face", "several", "median ms")
    row(*["---"] * 6)
    for name, photos in sets.items():
        outcome: Counter[str] = Counter()
        runs = []
        for photo in photos:
            began = time.perf_counter()
            try:
                face.face_embed(photo)
                outcome["one"] += 1
            except face.FaceError as exc:
                outcome[exc.code] += 1
            runs.append(time.perf_counter() - began)
        row(
            name,
            len(photos),
            f"{outcome['one'] / len(photos):.1%}",
            outcome["no_face"],
            outcome["several_faces"],
            f"{statistics.median(runs) * 1000:.0f}",
        )
    for path in sorted((data / "faces" / "special_cases").glob("*.jpg")):
        try:
            face.face_embed(Image.open(path))
            outcome_text = "one face"
        except face.FaceError as exc:
            outcome_text = exc.code
        print(f"special case {path.name}: {outcome_text}")


def residents_faces() -> tuple[list[str], np.ndarray]:
    """Every enrolled resident ("name (room)") and their face embedding in this deployment's
    database (Django's settings from the environment, as manage.py reads them), one row
    each."""
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hostel.settings")
    django.setup()
    from residents.galleries import gallery
    from residents.models import Resident

    active, moved_out = gallery("face").load()
    ids = [*active.ids, *moved_out.ids]
    named = {
        pk: f"{name} ({room})"
        for pk, name, room in Resident.objects.filter(pk__in=ids).values_list("pk", "name", "room")
    }
    return [named[pk] for pk in ids], np.concatenate([active.matrix, moved_out.matrix])


def residents_leave_one_out() -> tuple[np.ndarray, np.ndarray, int]:
    """This deployment's residents' own enrolment photos, leave-one-out: each photo of a
    resident with two or more, against the centre of their other photos (genuine, as the
    gate would compare it) and against every other enrolled resident's centre (impostor).
    Returns the two distance arrays and how many residents gave genuine pairs."""
    from residents.galleries import gallery
    from residents.models import Sample

    active, moved_out = gallery("face").load()
    ids = [*active.ids, *moved_out.ids]
    centres = np.concatenate([active.matrix, moved_out.matrix])
    rows = Sample.objects.filter(kind="face", model=face.MODEL).values_list(
        "resident_id", "embedding"
    )
    photos: dict[Any, list[np.ndarray]] = {}
    for resident_id, embedding in rows.iterator():
        photos.setdefault(resident_id, []).append(np.frombuffer(bytes(embedding), np.float32))
    genuine, impostor, people = [], [], 0
    for resident_id, own in photos.items():
        others = [n for n, pk in enumerate(ids) if pk != resident_id]
        for n, probe in enumerate(own):
            if len(own) >= 2:
                rest = np.mean([e for m, e in enumerate(own) if m != n], axis=0)
                genuine.append(float(np.linalg.norm(rest - probe)))
            if others:
                impostor.extend(np.linalg.norm(centres[others] - probe, axis=1).tolist())
        people += len(own) >= 2
    return np.array(genuine), np.array(impostor), people


def calibrate(data: Path, target: float, with_residents: bool) -> None:
    """FAR and FRR per threshold, and the threshold that keeps false accepts under target.

    Genuine and impostor pairs come from the shared sets (pairs within each set). With
    --residents, every pair of this deployment's enrolled residents is counted apart, per
    threshold, and the closest are listed: not pooled, since thousands of easy pairs would
    drown the hard ones, and a close pair may be one person enrolled twice."""
    rows = load(data)
    # Pairs within each set: people photographed alike are the hard impostors.
    pairs = [pair_distances(items) for items in rows.values()]
    genuine = np.concatenate([g for g, _ in pairs])
    impostor = np.concatenate([i for _, i in pairs])
    sources = [f"shared sets: {genuine.size} genuine, {impostor.size} impostor pairs"]
    ours = own_genuine = own_impostor = np.empty(0)
    closest: list[str] = []
    if with_residents:
        names, faces = residents_faces()
        if len(faces) >= 2:
            between = np.linalg.norm(faces[:, None, :] - faces[None, :, :], axis=2)
            first, second = np.triu_indices(len(faces), k=1)
            order = np.argsort(between[first, second])
            ours = between[first, second][order]
            closest = [
                f"{names[first[n]]} and {names[second[n]]}: {between[first[n], second[n]]:.3f}"
                for n in order[:5]
            ]
            sources.append(f"this deployment: {len(faces)} residents, {ours.size} pairs")
        own_genuine, own_impostor, people = residents_leave_one_out()
        sources.append(
            f"leave-one-out on their own photos: {own_genuine.size} genuine (of {people} "
            f"residents with 2 or more photos), {own_impostor.size} impostor comparisons"
        )
    print("\n# calibration: " + "; ".join(sources))
    row(
        "threshold",
        "false accepts (impostor pairs)",
        "false rejects (genuine pairs)",
        "your residents' pairs under it",
        "your photos refused (leave-one-out)",
        "your photos under another's centre",
    )
    row(*["---"] * 6)
    thresholds = np.round(np.arange(0.40, 0.651, 0.01), 2)

    def rate(values: np.ndarray, hit: np.ndarray) -> str:
        return f"{np.mean(hit):.2%}" if values.size else "-"

    for t in thresholds:
        row(
            f"{t:.2f}",
            f"{np.mean(impostor < t):.3%}",
            f"{np.mean(genuine >= t):.2%}",
            int(np.sum(ours < t)) if with_residents else "-",
            rate(own_genuine, own_genuine >= t),
            rate(own_impostor, own_impostor < t),
        )
    if closest:
        print(
            f"your residents' closest pairs: {'; '.join(closest)} (a pair under the threshold "
            "is two residents a face scan could mix up, or one person enrolled twice)"
        )
    safe = [t for t in thresholds if np.mean(impostor < t) <= target]
    if not safe:
        print(f"no threshold from 0.40 keeps false accepts at or under {target:.3%}")
        return
    if own_impostor.size:  # this deployment's own photos must keep to the target too
        safe = [t for t in safe if np.mean(own_impostor < t) <= target]
        if not safe:
            lowest = np.mean(own_impostor < thresholds[0])
            print(
                f"no threshold from 0.40 keeps your residents' photos under another's centre "
                f"at or under {target:.3%} (at 0.40: {lowest:.2%}): some of them look alike "
                "(the closest pairs above). Check those pairs; the margin rule and the "
                "guard's look are what keep them apart."
            )
            return
    chosen = max(safe)
    far, frr = np.mean(impostor < chosen), np.mean(genuine >= chosen)
    own = (
        f"; your residents' photos, leave-one-out: {np.mean(own_genuine >= chosen):.2%} "
        f"refused, {np.mean(own_impostor < chosen):.3%} under another resident's centre"
        if own_genuine.size and own_impostor.size
        else ""
    )
    print(
        f"suggested FACE_MATCH_THRESHOLD={chosen:.2f}: false accepts {far:.3%} of impostor "
        f"pairs (target {target:.3%}), false rejects {frr:.2%} of genuine pairs{own}"
    )


def samples_study(data: Path, rounds: int = 20) -> None:
    """What enrolling 1, 3 or 5 photos per person does to 1:N at zero false accepts.

    Open set, as at a gate: in each round half of the people (with 6 photos or more) are
    enrolled and the rest are strangers. Each enrolled person's photos are shuffled once per
    round: the first k of the first five enrol them, the sixth and later are the genuine
    probes, the same for every k; every photo of a stranger is an impostor probe. A person's
    score is the distance to their closest sample ("each sample") or to the mean of their
    samples ("centre"); accepted below the threshold and 0.05 closer than the next person.
    Reported: the genuine-accept rate at the deployed 0.50 with the strangers and wrong
    people accepted there, and at the highest threshold that accepts no stranger and no one
    as someone else in that round (tuned on the probes it scores: optimistic), averaged."""
    rows = load(data)
    people: dict[str, list[np.ndarray]] = {}
    for dataset, items in rows.items():
        for person, embedding in items:
            people.setdefault(f"{dataset}/{person}", []).append(embedding)
    people = {name: photos for name, photos in people.items() if len(photos) >= 6}
    same_person_study(people)
    print(f"\n# enrolment samples: {len(people)} people with 6+ photos, {rounds} rounds")
    row(
        "photos enrolled",
        "scored by",
        "genuine accepted at 0.50",
        "false accepts at 0.50",
        "genuine accepted at zero false accepts",
        "that threshold",
    )
    row(*["---"] * 6)
    for k in (1, 3, 5):
        for scoring in ("each sample", "centre"):
            rates: list[float] = []
            thresholds: list[float] = []
            at_default: list[float] = []
            false_at_default: list[float] = []
            for round_number in range(rounds):
                rng = np.random.default_rng(round_number)  # same splits and probes for all
                names = sorted(people)
                rng.shuffle(names)
                enrolled, strangers = names[: len(names) // 2], names[len(names) // 2 :]
                gallery: list[tuple[str, np.ndarray]] = []
                probes: list[tuple[str | None, np.ndarray]] = []
                for name in enrolled:
                    order = rng.permutation(len(people[name]))
                    chosen = [people[name][i] for i in order[:k]]
                    samples = [np.mean(chosen, axis=0)] if scoring == "centre" else chosen
                    gallery += [(name, sample) for sample in samples]
                    probes += [(name, people[name][i]) for i in order[5:]]
                probes += [(None, photo) for name in strangers for photo in people[name]]
                owners = [name for name, _ in gallery]
                matrix = np.stack([sample for _, sample in gallery])
                outcomes = []  # (best distance, runner-up gap, right person?, genuine?)
                for truth, probe in probes:
                    distances = np.linalg.norm(matrix - probe, axis=1)
                    best: dict[str, float] = {}
                    for owner, distance in zip(owners, distances, strict=True):
                        best[owner] = min(best.get(owner, 9.0), float(distance))
                    ranked = sorted(best.items(), key=lambda item: item[1])
                    gap = ranked[1][1] - ranked[0][1] if len(ranked) > 1 else 9.0
                    outcomes.append((ranked[0][1], gap, ranked[0][0] == truth, truth is not None))
                safe = 0.0
                for t in np.round(np.arange(0.30, 0.701, 0.01), 2):
                    wrong = any(d < t and g >= 0.05 and not right for d, g, right, _ in outcomes)
                    if wrong:
                        break
                    safe = t
                genuine = [(d, g, r) for d, g, r, is_genuine in outcomes if is_genuine]
                accepted = sum(d < safe and g >= 0.05 and r for d, g, r in genuine)
                rates.append(accepted / len(genuine))
                thresholds.append(safe)
                at_default.append(
                    sum(d < 0.5 and g >= 0.05 and r for d, g, r in genuine) / len(genuine)
                )
                false_at_default.append(
                    sum(d < 0.5 and g >= 0.05 and not r for d, g, r, _ in outcomes) / len(outcomes)
                )
            row(
                k,
                scoring,
                f"{np.mean(at_default):.1%}",
                f"{np.mean(false_at_default):.2%} of probes",
                f"{np.mean(rates):.1%}",
                f"{np.median(thresholds):.2f} (median)",
            )


def same_person_study(people: dict[str, list[np.ndarray]], rounds: int = 10) -> None:
    """The same-person check of a photo added to a resident's others (face.SAME_PERSON):
    for each person with 6+ photos and each round, ``m`` of their photos enrolled, their
    next photo (their own) and a photo of someone else in the same set (a stranger) added;
    how many of each the check would refuse and accept, by the distance from the centre
    alone (before) and by face.distance_to_samples (the centre or the median photo,
    whichever is farther)."""
    print(f"\n# same-person check of an added photo, limit {face.SAME_PERSON}, {rounds} rounds")
    row("photos before", "own photo refused (centre / now)", "stranger accepted (centre / now)")
    row(*["---"] * 3)
    names = sorted(people)
    for m in (1, 2, 3, 4):
        rng = np.random.default_rng(m)
        own = [0, 0]
        stranger = [0, 0]
        tries = 0
        for name in names:
            same_set = [n for n in names if n != name and n.split("/")[0] == name.split("/")[0]]
            for _ in range(rounds):
                order = rng.permutation(len(people[name]))
                enrolled = [people[name][i] for i in order[:m]]
                other = people[same_set[rng.integers(len(same_set))]]
                added = (people[name][order[m]], other[rng.integers(len(other))])
                for counts, photo, is_own in ((own, added[0], True), (stranger, added[1], False)):
                    centre = float(np.linalg.norm(np.mean(enrolled, axis=0) - photo))
                    now = face.distance_to_samples(enrolled, photo)
                    for n, distance in enumerate((centre, now)):
                        counts[n] += (distance >= face.SAME_PERSON) == is_own
                tries += 1
        row(
            m,
            f"{own[0] / tries:.1%} / {own[1] / tries:.1%}",
            f"{stranger[0] / tries:.1%} / {stranger[1] / tries:.1%} of {tries}",
        )


def pair_distances(rows):
    genuine: list[float] = []
    impostor: list[float] = []
    for (p1, e1), (p2, e2) in itertools.combinations(rows, 2):
        (genuine if p1 == p2 else impostor).append(float(np.linalg.norm(e1 - e2)))
    return np.array(genuine), np.array(impostor)


def eer(genuine, impostor) -> tuple[float, float]:
    """The equal error rate and the threshold where false accepts first reach false rejects."""
    for t in np.linspace(0.0, 1.2, 1201):
        far, frr = np.mean(impostor < t), np.mean(genuine >= t)
        if far >= frr:
            return (far + frr) / 2, float(t)
    return 1.0, 1.0


def row(*cells: object) -> None:
    print("| " + " | ".join(str(cell) for cell in cells) + " |")


def identification(rows, threshold, margin) -> dict[str, float]:
    """Each photo probes a gallery of one other photo per person (its own never included)."""
    people = sorted({p for p, _ in rows})
    verdicts: Counter[str] = Counter()
    rank1 = probes = 0
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
        assert best is not None  # the gallery is not empty
        rank1 += gallery_people[best.index] == person
        verdicts[verdict(match, gallery_people, person)] += 1
    return {
        "probes": probes,
        "rank1": rank1 / probes,
        "accept_right": verdicts["right"] / probes,
        "accept_wrong": verdicts["wrong"] / probes,
        "refused": verdicts["refused"] / probes,
    }


def verdict(match: Any, names: list[str], truth: str) -> str:
    """A 1:N answer: "refused" (no confident match), "right" or "wrong" (the wrong person)."""
    if match is None:
        return "refused"
    return "right" if names[match.index] == truth else "wrong"


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


def fsdd_phrases(data: Path) -> dict[str, list[np.ndarray]]:
    """speaker -> 16 kHz phrases of six digits each (~3 s), decoded like an upload."""
    import wave

    phrases: dict[str, list[np.ndarray]] = {}
    for folder in sorted((data / "voices" / "fsdd").iterdir()):
        clips = sorted(folder.glob("*.wav"), key=lambda p: (int(p.stem.split("_")[1]), p.stem))
        for start in range(0, len(clips) - 5, 6):
            pcm, rate = [], 8000
            for clip in clips[start : start + 6]:
                with wave.open(str(clip)) as reader:
                    rate = reader.getframerate()
                    pcm.append(np.frombuffer(reader.readframes(reader.getnframes()), np.int16))
            phrases.setdefault(folder.name, []).append(_as_upload(pcm, rate))
    return phrases


def sentences(data: Path) -> dict[str, list[np.ndarray]]:
    """Genuine recordings of 2.5-3 s, decoded like an upload: FSDD digit takes joined in
    order per speaker (each take used once, a new sentence when the next would pass 3 s),
    as recorded and with the silence at each take's ends cut to PAUSE (some takes hold up
    to a second of it, more than a reader pauses between words); and the CMU ARCTIC
    sentences of 2.5 s or more."""
    import wave

    found: dict[str, list[np.ndarray]] = {
        "FSDD, digits joined": [],
        f"FSDD, digits joined, pauses cut to {PAUSE} s": [],
        "CMU ARCTIC": [],
    }
    for name, trim in zip(list(found)[:2], (False, True), strict=True):
        for folder in sorted((data / "voices" / "fsdd").iterdir()):
            clips = sorted(folder.glob("*.wav"), key=lambda p: (int(p.stem.split("_")[1]), p.stem))
            pcm: list[np.ndarray] = []
            rate = 8000
            for clip in clips:
                with wave.open(str(clip)) as reader:
                    rate = reader.getframerate()
                    piece = np.frombuffer(reader.readframes(reader.getnframes()), np.int16)
                if trim:
                    piece = _trimmed(piece, rate)
                if sum(p.size for p in pcm) + piece.size > 3.0 * rate:
                    if sum(p.size for p in pcm) >= 2.5 * rate:
                        found[name].append(_as_upload(pcm, rate))
                    pcm = []
                pcm.append(piece)
    for path in sorted((data / "voices" / "cmu_arctic").glob("*/*.wav")):
        samples = uploads.voice_normalise(path.read_bytes()).samples
        if samples.size >= 2.5 * voice.RATE:
            found["CMU ARCTIC"].append(samples)
    return found


def _as_upload(pcm: list[np.ndarray], rate: int) -> np.ndarray:
    """16-bit mono ``pcm`` pieces joined, written as a WAV and decoded like an upload."""
    import io
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(np.concatenate(pcm).tobytes())
    return uploads.voice_normalise(out.getvalue()).samples


PAUSE = 0.15  # seconds of silence kept at each end of a digit take (sentences)


def _trimmed(piece: np.ndarray, rate: int) -> np.ndarray:
    """A take without the silence at its ends beyond PAUSE: silence being 10 ms frames more
    than 35 dB under the take's loudest."""
    step = rate // 100
    frames = piece[: piece.size // step * step].astype(np.float64).reshape(-1, step)
    level = 10 * np.log10((frames**2).mean(axis=1) + 1e-9)
    loud = np.flatnonzero(level > level.max() - 35)
    keep = int(PAUSE * rate)
    return piece[max(loud[0] * step - keep, 0) : (loud[-1] + 1) * step + keep]


def speech(data: Path) -> None:
    """How much talking the speech check counts in genuine 2.5-3 s recordings, and how many
    it would refuse at enrolment (uploads.ENROL_MIN_SPEECH_SECONDS)."""
    print(
        f"\n# speech check: genuine 2.5-3 s recordings, enrolment needs "
        f"{uploads.ENROL_MIN_SPEECH_SECONDS:.1f} s counted"
    )
    row("set", "recordings", "counted / length, median", "lowest", "refused at enrolment")
    row(*["---"] * 5)
    for name, items in sentences(data).items():
        ratios, refused = [], 0
        for samples in items:
            try:
                counted = voice.speech_seconds(samples)
            except voice.VoiceError:
                counted = 0.0
            ratios.append(counted / (samples.size / voice.RATE))
            refused += counted < uploads.ENROL_MIN_SPEECH_SECONDS
        row(
            name,
            len(items),
            f"{statistics.median(ratios):.2f}",
            f"{min(ratios):.2f}",
            f"{refused} ({refused / len(items):.1%})",
        )
    rng = np.random.default_rng(5)
    t = np.arange(64_000) / 16_000
    rumble = np.cumsum(rng.normal(size=t.size))
    rumble -= np.convolve(rumble, np.ones(800) / 800, "same")
    rumble = rumble / np.abs(rumble).max() * 0.3 * (0.1 + np.clip(np.sin(np.pi * t / 2), 0, 1))
    word = sentences(data)["CMU ARCTIC"][0][4800:12800]  # about half a second of a sentence
    controls = {
        "3 s of silence": np.zeros(48_000),
        "3 s of white noise": rng.normal(size=48_000) * 0.1,
        "3 s of a 220 Hz tone": 0.3 * np.sin(2 * np.pi * 220 * t[:48_000]),
        "4 s of traffic (brown noise swelling)": rumble,
        "a word, then 3.5 s of traffic": np.concatenate([word, rumble[:56_000]]),
    }
    for name, samples in controls.items():
        try:
            counted = voice.speech_seconds(samples.astype(np.float32))
            outcome = f"{counted:.2f} s counted" + (
                " (would ENROL)" if counted >= uploads.ENROL_MIN_SPEECH_SECONDS else ""
            )
        except voice.VoiceError as exc:
            outcome = f"refused ({exc.code})"
        print(f"control, {name}: {outcome}")


def voices(data: Path, thresholds: list[float], margin: float) -> None:
    phrases = fsdd_phrases(data)
    prints, probes = {}, []
    runs = []
    for speaker, items in phrases.items():
        embedded = []
        for samples in items:
            began = time.perf_counter()
            try:
                embedded.append(voice.voice_embed(samples, min_speech=1.0))
            except voice.VoiceError as exc:
                print(f"# {speaker}: a phrase refused ({exc.code})")
                continue
            runs.append(time.perf_counter() - began)
        mean = np.mean(np.stack(embedded[:3]), axis=0)  # enrolment: the normalised mean
        prints[speaker] = (mean / np.linalg.norm(mean)).astype(np.float32)
        probes += [(speaker, e) for e in embedded[3:]]
    names = sorted(prints)
    gallery = np.stack([prints[n] for n in names])
    genuine = np.array([float(prints[s] @ e) for s, e in probes])
    impostor = np.array([float(prints[o] @ e) for s, e in probes for o in names if o != s])
    print(f"\n# voices: {len(names)} speakers, {len(probes)} probes of ~3 s, enrolment 3 phrases")
    rate, t = eer(1 - genuine, 1 - impostor)  # as distances: 1 - cosine similarity
    print(
        f"EER {rate:.2%} at similarity {1 - t:.2f}; genuine mean {genuine.mean():.3f}, "
        f"impostor mean {impostor.mean():.3f}, highest impostor {impostor.max():.3f}"
    )
    row("threshold", "FAR (pairs)", "FRR (pairs)", "1:N right", "1:N WRONG", "1:N refused")
    row(*["---"] * 6)
    for threshold in thresholds:
        verdicts: Counter[str] = Counter()
        for speaker, e in probes:
            match, _ = voice.voice_identify(e, gallery, threshold=threshold, margin=margin)
            verdicts[verdict(match, names, speaker)] += 1
        n = len(probes)
        row(
            f"{threshold:.2f}",
            f"{np.mean(impostor > threshold):.2%}",
            f"{np.mean(genuine <= threshold):.2%}",
            f"{verdicts['right'] / n:.1%}",
            f"{verdicts['wrong'] / n:.2%}",
            f"{verdicts['refused'] / n:.1%}",
        )
    print(f"embed a ~3 s phrase: median {statistics.median(runs) * 1000:.0f} ms of {len(runs)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument(
        "--threshold", type=float, nargs="+", default=[0.45, 0.48, 0.50, 0.53, 0.55, 0.60]
    )
    parser.add_argument("--margin", type=float, nargs="+", default=[0.0, 0.03, 0.05, 0.08])
    parser.add_argument(
        "--voice-threshold", type=float, nargs="+", default=[0.55, 0.60, 0.65, 0.70, 0.75]
    )
    parser.add_argument("--voice-margin", type=float, default=0.05)
    parser.add_argument("--only", choices=["face", "voice", "speech", "detection", "samples"])
    parser.add_argument(
        "--calibrate", action="store_true", help="FAR/FRR per threshold and a suggestion"
    )
    parser.add_argument("--target-far", type=float, default=0.001, help="with --calibrate")
    parser.add_argument(
        "--residents",
        action="store_true",
        help="with --calibrate: add this deployment's enrolled residents (DATABASE_URL)",
    )
    args = parser.parse_args()
    if not (args.data / "faces").is_dir():
        parser.error(
            f"the shared photo and voice sets are not at {args.data} (no faces/ in it): pass "
            "--data with the folder that holds faces/ and voices/"
        )
    if args.calibrate:
        calibrate(args.data, args.target_far, args.residents)
        return
    if args.only in (None, "detection"):
        detection(args.data)
    if args.only == "detection":
        return
    if args.only == "samples":
        samples_study(args.data)
        return
    if args.only in (None, "speech"):
        speech(args.data)
    if args.only == "speech":
        return
    if args.only != "face":
        voices(args.data, args.voice_threshold, args.voice_margin)
    if args.only == "voice":
        return
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
