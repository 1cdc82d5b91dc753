"""The head-turn liveness check on real ORL photos, and the fake-camera videos made of them."""

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from residents.biometrics import face, liveness
from residents.biometrics.liveness import LivenessError, liveness_check
from tests import videos

OTHER_MAN_TURNED_LEFT = videos.ORL / "s16" / "7.jpg"


def frame(path: Path) -> Image.Image:
    return videos.camera_frame(Image.open(path))


def refusal(frames: list[Image.Image], direction: str) -> LivenessError:
    with pytest.raises(LivenessError) as caught:
        liveness_check(frames, direction)
    return caught.value


@pytest.fixture(scope="module")
def poses() -> dict[str, Image.Image]:
    return {
        "frontal": frame(videos.FRONTAL),
        "left": frame(videos.TURNED_LEFT),
        "right": frame(videos.TURNED_RIGHT),
    }


@pytest.mark.parametrize("direction", ["left", "right"])
def test_a_head_turning_the_asked_way_passes(poses, direction) -> None:
    frames = [poses["frontal"], poses["frontal"], poses[direction]]

    result = liveness_check(frames, direction)

    assert result.turned == 2
    assert len(result.yaws) == 3
    turn = result.yaws[2] - result.yaws[0]
    assert (turn if direction == "left" else -turn) >= liveness.YAW_MIN
    # The frame facing the camera is the one identified: described from the landmarks the
    # check found, it lies where enrolment's own reading of it does (0.03 apart here;
    # residents' photos of themselves lie 0.3-0.5 apart).
    assert np.linalg.norm(result.descriptor - face.face_embed(poses["frontal"])) < 0.05


def test_the_sign_of_the_yaw_is_the_persons_own_left(poses) -> None:
    """ORL s4/10: the man looks toward the image's right, which is his own left."""
    yaws = liveness_check([poses["frontal"], poses["left"], poses["right"]], "left").yaws

    assert yaws[1] > liveness.YAW_MIN > abs(yaws[0])
    assert yaws[2] < -liveness.YAW_MIN


@pytest.mark.parametrize(("turns", "asked"), [("left", "right"), ("right", "left")])
def test_a_head_that_never_turns_the_asked_way_is_refused(poses, turns, asked) -> None:
    error = refusal([poses["frontal"], poses[turns], poses["frontal"]], asked)

    assert error.code == "wrong_direction"
    assert f"not the {asked}: scan again" in error.message


@pytest.mark.parametrize("direction", ["left", "right"])
def test_a_photo_held_still_is_refused_as_not_live(poses, direction) -> None:
    error = refusal([poses["frontal"]] * 5, direction)

    assert error.code == "not_live"
    assert "photo" in error.message


@pytest.mark.parametrize("direction", ["left", "right"])
def test_a_photo_moved_about_by_a_hand_is_refused_as_not_live(direction) -> None:
    clips = videos.still_photo(seconds=3.0, seed=7)
    frames = [picture for picture, _ in clips[:: len(clips) // liveness.MAX_FRAMES]]
    frames = frames[: liveness.MAX_FRAMES]
    assert len({picture.tobytes() for picture in frames}) == len(frames)  # no two alike

    error = refusal(frames, direction)

    assert error.code == "not_live"


def test_a_print_swivelled_close_to_the_camera_is_refused_as_not_live(poses) -> None:
    """Found in review: s4's print, 0.7 of its width from the camera, swivelled 25 degrees
    each way. dlib's landmarks read the swivel as a head turn of more than YAW_MIN (the
    landmark-only check let it through), but the face moved as a flat picture does."""
    frames = [poses["frontal"]] + [
        videos.tilted_print(poses["frontal"], degrees, distance=0.7) for degrees in (25, -25)
    ]
    yaws = [liveness.yaw(face.face_locate(picture).points) for picture in frames]
    assert max(yaws) - min(yaws) >= liveness.YAW_MIN  # the landmarks alone would pass it

    error = refusal(frames, "left")

    assert error.code == "not_live"
    assert "flat picture" in error.message


@pytest.mark.parametrize("direction", ["left", "right"])
def test_frames_of_a_print_rocked_close_to_the_camera_are_refused(direction) -> None:
    """Six frames 0.45 s apart, from every starting point of the rocked print's swing: about
    one try in four passed the landmark-only check."""
    frames = [picture for picture, _ in videos.rocked_print(seconds=4.0)]
    for start in range(0, 16, 2):
        taken = frames[start : start + 6 * 9 // 2 : 9 // 2][:6]

        error = refusal(taken, direction)

        assert error.code in ("not_live", "wrong_direction"), (start, error.code)


def test_a_photo_of_a_turned_face_is_refused_as_not_facing_the_camera(poses) -> None:
    error = refusal([poses["left"], poses["left"], poses["left"]], "right")

    assert error.code == "not_frontal"


def test_a_turn_caught_before_the_frontal_frame_counts(poses) -> None:
    """The camera may catch the resident turned first and facing it after: the turn is
    measured from the frame that faces the camera, wherever it is."""
    result = liveness_check([poses["left"], poses["left"], poses["frontal"]], "left")

    assert result.turned in (0, 1)


def test_a_turn_the_wrong_way_is_named(poses) -> None:
    error = refusal([poses["left"], poses["frontal"]], "right")

    assert error.code == "wrong_direction"


def test_someone_else_turning_after_the_residents_photo_is_refused(poses) -> None:
    """The resident's photo held up first, then another man turns his own head."""
    error = refusal([poses["frontal"], frame(OTHER_MAN_TURNED_LEFT)], "left")

    assert error.code == "different_people"
    assert "Frame 2" in error.message


def test_a_frame_without_a_face_is_refused(poses) -> None:
    empty = Image.new("RGB", videos.SIZE, (90, 90, 90))

    error = refusal([poses["frontal"], empty, poses["left"]], "left")

    assert error.code == "no_face"
    assert error.message.startswith("Frame 2: No face")


def test_too_few_frames_are_refused(poses) -> None:
    assert refusal([poses["frontal"]], "left").code == "too_few_frames"
    assert refusal([], "left").code == "too_few_frames"


def test_too_many_frames_are_refused(poses) -> None:
    frames = [poses["frontal"]] * liveness.MAX_FRAMES + [poses["left"]]

    assert refusal(frames, "left").code == "too_many_frames"


def test_a_direction_other_than_left_or_right_is_refused(poses) -> None:
    assert refusal([poses["frontal"], poses["left"]], "up").code == "invalid"


def test_the_yaw_ignores_a_tilted_head_and_the_size_of_the_face() -> None:
    points = np.array([[70, 50], [60, 50], [30, 50], [40, 50], [56, 70]], dtype=float)
    turned = np.radians(20)
    rotation = np.array([[np.cos(turned), -np.sin(turned)], [np.sin(turned), np.cos(turned)]])

    assert liveness.yaw(points) == pytest.approx(0.2)
    assert liveness.yaw(points * 3 + 11) == pytest.approx(0.2)
    assert liveness.yaw(points @ rotation.T) == pytest.approx(0.2)


# --- The fake-camera videos ------------------------------------------------------------------


def test_the_head_turn_video_is_a_y4m_file_chromium_and_ffmpeg_can_read(tmp_path) -> None:
    path = tmp_path / "turn.y4m"

    count = videos.write_y4m(path, videos.head_turn(hold=1.0))

    header, frames = videos.read_y4m(path)
    assert count == 4 * videos.FPS == len(frames)
    assert path.read_bytes().startswith(b"YUV4MPEG2 W368 H448 F10:1 Ip A1:1 C420jpeg\nFRAME\n")
    assert header == {"W": "368", "H": "448", "F": "10:1", "I": "p", "A": "1:1", "C": "420jpeg"}
    assert path.stat().st_size == len(b"YUV4MPEG2 W368 H448 F10:1 Ip A1:1 C420jpeg\n") + count * (
        len(b"FRAME\n") + 368 * 448 * 3 // 2
    )
    with av.open(str(path)) as container:
        decoded = list(container.decode(video=0))
    assert len(decoded) == count
    assert (decoded[0].width, decoded[0].height) == videos.SIZE
    ours, ffmpegs = np.asarray(frames[0], dtype=int), np.asarray(decoded[0].to_image(), dtype=int)
    assert np.abs(ours - ffmpegs).max() <= 2  # the same colours: video-range BT.601
    original = np.asarray(frame(videos.FRONTAL), dtype=int)
    assert np.abs(ours - original).max() <= 2


def test_frames_of_the_head_turn_video_pass_either_way(tmp_path) -> None:
    path = tmp_path / "turn.y4m"
    videos.write_y4m(path, videos.head_turn(hold=1.0))
    _, frames = videos.read_y4m(path)
    every_half_second = frames[:: videos.FPS // 2]  # frontal, frontal, left, left, ..., right

    assert liveness_check(every_half_second, "left").turned == 2
    assert liveness_check(every_half_second, "right").turned == 6


def test_frames_of_the_still_photo_video_are_refused(tmp_path) -> None:
    path = tmp_path / "photo.y4m"
    count = videos.write_y4m(path, videos.still_photo(seconds=2.0))
    _, frames = videos.read_y4m(path)
    assert count == len(frames) == 2 * videos.FPS
    assert len({picture.tobytes() for picture in frames}) == count

    error = refusal(frames[:: len(frames) // liveness.MAX_FRAMES][: liveness.MAX_FRAMES], "left")

    assert error.code == "not_live"


def test_a_still_photo_without_jitter_repeats_one_frame(tmp_path) -> None:
    path = tmp_path / "photo.y4m"

    count = videos.write_y4m(path, videos.still_photo(seconds=1.0, jitter=False))

    _, frames = videos.read_y4m(path)
    assert count == videos.FPS
    assert len({picture.tobytes() for picture in frames}) == 1
