"""Fake-camera videos for Chromium: a photo held up to the camera, and a head turning.

    chromium --use-fake-device-for-media-stream --use-file-for-fake-video-capture=turn.y4m

Y4M as Chromium reads it (media/capture/video/file_video_capture_device.cc): one header line
``YUV4MPEG2 W.. H.. F..:1 Ip A1:1 C420jpeg``, then per frame exactly ``FRAME\\n`` and the Y,
U and V planes (4:2:0: U and V at half width and height), which Chromium plays in a loop.
Pixels are BT.601 at video range (Y 16-235), as ffmpeg writes yuv420p; read_y4m undoes it.

The faces are ORL photos (92x112 grey, tight crops; tests/fixtures/README.md), enlarged
three times onto a plain background of the photo's own edge colour, in a 368x448 frame.
"""

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

ORL = Path(__file__).resolve().parent / "fixtures" / "faces" / "orl"
SIZE = (368, 448)  # even: 4:2:0 halves both
SCALE = 3.0
FPS = 10

# One ORL subject (s4), photos without his glasses: facing the camera, turned to his own left,
# turned to his own right. Yaw +0.04, +0.26 and -0.15 (bench/liveness.py), so both turns
# clear liveness.YAW_MIN (0.12) by more than a still photo's noise.
FRONTAL = ORL / "s4" / "4.jpg"
TURNED_LEFT = ORL / "s4" / "10.jpg"
TURNED_RIGHT = ORL / "s4" / "6.jpg"

Clip = tuple[Image.Image, float]  # a picture and how many seconds it stays on screen


def camera_frame(
    photo: Image.Image, *, scale: float = SCALE, dx: int = 0, dy: int = 0, size=SIZE
) -> Image.Image:
    """``photo`` enlarged ``scale`` times, centred (moved by dx, dy) in an RGB frame."""
    grey = photo.convert("L")
    edges = np.concatenate([np.asarray(grey)[0], np.asarray(grey)[-1]])
    frame = Image.new("L", size, int(np.median(edges)))
    width, height = round(grey.width * scale), round(grey.height * scale)
    big = grey.resize((width, height), Image.Resampling.BICUBIC)
    frame.paste(big, ((size[0] - width) // 2 + dx, (size[1] - height) // 2 + dy))
    return frame.convert("RGB")


def still_photo(
    photo: Path = FRONTAL, *, seconds: float = 6.0, jitter: bool = True, seed: int = 0
) -> list[Clip]:
    """A photo held up to the camera: the same face in every frame. With ``jitter`` it moves
    as a hand does (up to 3 pixels, 2% in size) and the sensor adds noise, so that no two
    frames are the same bytes."""
    picture = Image.open(photo)
    if not jitter:
        return [(camera_frame(picture), seconds)]
    rng = np.random.default_rng(seed)
    clips = []
    for _ in range(max(round(seconds * FPS), 1)):
        frame = camera_frame(
            picture,
            scale=SCALE * rng.uniform(0.98, 1.02),
            dx=int(rng.integers(-3, 4)),
            dy=int(rng.integers(-3, 4)),
        )
        noise = rng.normal(0, 2.0, size=(SIZE[1], SIZE[0], 1))
        noisy = np.clip(np.asarray(frame, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
        clips.append((Image.fromarray(noisy), 1 / FPS))
    return clips


def tilted_print(
    picture: Image.Image, degrees: float, *, axis: str = "v", distance: float = 3.0
) -> Image.Image:
    """``picture`` as a flat print turned by ``degrees`` about its vertical ("v") or
    horizontal ("h") axis through its centre, seen by a pinhole camera ``distance``
    picture-widths away (0.85: the print fills a phone camera's view)."""
    width, height = picture.size
    focal, angle = distance * width, np.radians(degrees)

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


def rocked_print(
    photo: Path = FRONTAL,
    *,
    degrees: float = 35.0,
    distance: float = 0.7,
    period: float = 1.6,
    seconds: float = 6.4,
    seed: int = 0,
) -> list[Clip]:
    """A print of ``photo`` swivelled to and fro about its vertical axis, ``degrees`` each
    way, ``distance`` print-widths from a wide camera, one swing each ``period`` seconds,
    with a hand's shake: the attack a landmark-only head-turn check let through (a close
    print's perspective moves the landmarks as a turning head's do)."""
    picture = camera_frame(Image.open(photo))
    rng = np.random.default_rng(seed)
    clips = []
    for n in range(max(round(seconds * FPS), 1)):
        angle = degrees * np.sin(2 * np.pi * n / (period * FPS))
        frame = tilted_print(picture, angle, distance=distance)
        shaken = frame.rotate(rng.uniform(-1, 1), translate=tuple(rng.integers(-3, 4, 2)))
        clips.append((shaken, 1 / FPS))
    return clips


def head_turn(
    frontal: Path = FRONTAL,
    left: Path = TURNED_LEFT,
    right: Path = TURNED_RIGHT,
    *,
    hold: float = 1.0,
) -> list[Clip]:
    """A head facing the camera, turned to its own left, facing it, turned to its right,
    each pose ``hold`` seconds (Chromium loops the video)."""
    poses = [frontal, left, frontal, right]
    return [(camera_frame(Image.open(pose)), hold) for pose in poses]


def write_y4m(path: Path, clips: Iterable[Clip], *, fps: int = FPS) -> int:
    """Write ``clips`` as a Y4M video of ``fps`` frames a second; the number of frames. Every
    picture has the first one's size, with even sides."""
    count = 0
    size = None
    with path.open("wb") as out:
        for picture, seconds in clips:
            if size is None:
                size = picture.size
                out.write(f"YUV4MPEG2 W{size[0]} H{size[1]} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
            if picture.size != size or size[0] % 2 or size[1] % 2:
                raise ValueError(f"every frame is {size[0]}x{size[1]} (even), not {picture.size}")
            planes = _yuv420(picture)
            for _ in range(max(round(seconds * fps), 1)):
                out.write(b"FRAME\n" + planes)
                count += 1
    return count


def read_y4m(path: Path) -> tuple[dict[str, str], list[Image.Image]]:
    """The header's fields (by letter: "W", "H", "F", ...) and every frame, as RGB."""
    data = path.read_bytes()
    end = data.index(b"\n")
    magic, *tags = data[:end].decode("ascii").split(" ")
    if magic != "YUV4MPEG2":
        raise ValueError("not a Y4M file")
    header = {tag[0]: tag[1:] for tag in tags}
    width, height = int(header["W"]), int(header["H"])
    size = width * height * 3 // 2
    frames, at = [], end + 1
    while at < len(data):
        if data[at : at + 6] != b"FRAME\n" or len(data) < at + 6 + size:
            raise ValueError(f"broken frame at byte {at}")
        plane = np.frombuffer(data, np.uint8, size, at + 6)
        frames.append(_rgb(plane, width, height))
        at += 6 + size
    return header, frames


def _yuv420(picture: Image.Image) -> bytes:
    """Y, U and V planes of ``picture``: BT.601, video range, chroma averaged over 2x2."""
    rgb = np.asarray(picture.convert("RGB"), dtype=np.float64) / 255
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    u = 128 - 37.797 * r - 74.203 * g + 112.0 * b
    v = 128 + 112.0 * r - 93.786 * g - 18.214 * b
    planes = [y, _halve(u), _halve(v)]
    return b"".join(np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in planes)


def _halve(plane: np.ndarray) -> np.ndarray:
    height, width = plane.shape
    return plane.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))


def _rgb(planes: np.ndarray, width: int, height: int) -> Image.Image:
    area = width * height
    y = planes[:area].reshape(height, width).astype(np.float64) - 16
    half = (height // 2, width // 2)
    u = planes[area : area + area // 4].reshape(half).astype(np.float64) - 128
    v = planes[area + area // 4 :].reshape(half).astype(np.float64) - 128
    u, v = (c.repeat(2, axis=0).repeat(2, axis=1) for c in (u, v))
    r = 1.164 * y + 1.596 * v
    g = 1.164 * y - 0.392 * u - 0.813 * v
    b = 1.164 * y + 2.017 * u
    rgb = np.clip(np.rint(np.stack([r, g, b], axis=-1)), 0, 255).astype(np.uint8)
    return Image.fromarray(rgb)
