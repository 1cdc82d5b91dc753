"""A face scan end to end, as a gate sends it: POST /api/scan with a JPEG from the camera,
through authentication, decoding, detection, the 1:N search, the ledger append and the
answer. Also a photo with no face (refused after every detection try), and a scan at a gate
that checks for a live person: six 480x360 frames as data URLs in JSON, as the scan page
sends them (ORL's s4 facing the camera twice, then turned the way the challenge asked).

    python bench/scan.py [--residents 1000] [--repeat 20]

A fresh SQLite database in a temporary folder (WAL, as shipped), migrated; one resident
enrolled with a real photo and --residents more with random embeddings (the gallery's
size); the probe is another photo of the enrolled person. Medians of --repeat scans after
one warm-up (models loaded); the debounce is off so that every scan records. Nothing is
asserted.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import PIL.Image

if TYPE_CHECKING:
    from django.core.files.uploadedfile import SimpleUploadedFile

ROOT = Path(__file__).resolve().parent.parent
FACES = ROOT / "tests" / "fixtures" / "faces"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="hostel-bench-scan-")
    os.environ.update(
        DATABASE_URL=f"sqlite:///{scratch}/db.sqlite3",
        MEDIA_ROOT=f"{scratch}/media",
        DEBUG="true",
        SCAN_DEBOUNCE_SECONDS="0",
        ALLOWED_HOSTS="testserver,localhost",
        FACE_LIVENESS="false",  # the main gate takes one still; the gate "live" asks to turn
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hostel.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import numpy as np
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from rest_framework.test import APIClient

    from residents import services, uploads
    from residents.biometrics import face
    from residents.models import Gate, Resident
    from tests import videos

    call_command("migrate", verbosity=0)
    guard = User.objects.create_user("guard", password="x")
    guard.groups.add(Group.objects.get(name="guards"))
    warden = User.objects.create_user("warden")
    services.resident_register(
        by=warden,
        name="Barack",
        room="A-1",
        photos=[uploads.photo_enrol((FACES / "obama_640x480.jpg").read_bytes())],
    )
    rng = np.random.default_rng(3)
    crowd = rng.normal(size=(args.residents, face.DIMENSIONS)).astype(np.float32)
    crowd /= np.linalg.norm(crowd, axis=1, keepdims=True) / 0.6  # far from any real face
    Resident.objects.bulk_create(
        Resident(
            name=f"R{i}",
            room=f"B-{i}",
            face_embedding=row.tobytes(),
            face_model=face.MODEL,
            status=None,
        )
        for i, row in enumerate(crowd)
    )
    client = APIClient()
    client.force_authenticate(guard)

    def timed(photo: bytes) -> tuple[float, int]:
        began = time.perf_counter()
        answer = client.post(
            "/api/scan", {"mode": "face", "photo": _upload(photo)}, format="multipart"
        )
        return time.perf_counter() - began, answer.status_code

    for name in ("obama_2.jpg", "skimage_coffee.jpg"):
        photo = (FACES / name).read_bytes()
        timed(photo)  # warm-up: the models load
        runs = [timed(photo) for _ in range(args.repeat)]
        statuses = sorted({status for _, status in runs})
        median = statistics.median(seconds for seconds, _ in runs)
        print(
            f"face scan, {name} ({'a resident' if 'obama' in name else 'no face'}), "
            f"{args.residents + 2} residents: median {median * 1000:.0f} ms of {args.repeat}, "
            f"HTTP {statuses}"
        )

    Gate.objects.create(slug="live", name="Live", face_liveness=Gate.Liveness.ON)
    services.resident_register(
        by=warden,
        name="Ben",
        room="C-3",
        photos=[uploads.photo_enrol(videos.FRONTAL.read_bytes())],
    )
    poses = {
        name: _data_url(videos.camera_frame(PIL.Image.open(path), scale=2.7, size=(480, 360)))
        for name, path in (
            ("frontal", videos.FRONTAL),
            ("left", videos.TURNED_LEFT),
            ("right", videos.TURNED_RIGHT),
        )
    }

    def timed_live() -> tuple[float, int]:
        asked = client.get("/api/scan/challenge").json()
        frames = [poses["frontal"]] * 2 + [poses[asked["direction"]]] * 4
        body = {"mode": "face", "gate": "live", "frames": frames, "challenge": asked["challenge"]}
        began = time.perf_counter()
        answer = client.post("/api/scan", body, format="json")
        return time.perf_counter() - began, answer.status_code

    timed_live()
    runs = [timed_live() for _ in range(args.repeat)]
    median = statistics.median(seconds for seconds, _ in runs)
    print(
        f"face scan with the live-person check (6 frames of 480x360), "
        f"{args.residents + 2} residents: median {median * 1000:.0f} ms of {args.repeat}, "
        f"HTTP {sorted({status for _, status in runs})}"
    )


def _data_url(image: PIL.Image.Image) -> str:
    import base64
    import io

    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


def _upload(data: bytes) -> "SimpleUploadedFile":
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("scan.jpg", data, content_type="image/jpeg")


if __name__ == "__main__":
    main()
