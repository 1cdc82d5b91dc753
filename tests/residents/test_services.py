import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from ledger.models import Block, ChainHead
from ledger.verification import chain_verify
from residents import services, uploads
from residents.errors import ResidentError
from residents.models import Resident
from tests.residents.conftest import photo_bytes, speech_wav, tone_wav


def blocks_of(resident: Resident) -> list[dict]:
    return [b.payload for b in Block.objects.filter(subject=str(resident.id)).order_by("index")]


def media_files() -> set[str]:
    found = set()
    for folder in ("photos", "voices"):
        if default_storage.exists(folder):
            found |= {f"{folder}/{name}" for name in default_storage.listdir(folder)[1]}
    return found


def test_register_writes_the_resident_and_exactly_one_block(warden) -> None:
    resident = services.resident_register(
        by=warden,
        name="  Ada Okafor ",
        room=" B-214",
        floor=2,
        email="ada@example.org",
        photos=[uploads.photo_normalise(photo_bytes())],
        voices=[uploads.voice_enrol(speech_wav())],
    )

    stored = Resident.objects.get(pk=resident.pk)
    assert (stored.name, stored.room, stored.floor) == ("Ada Okafor", "B-214", 2)
    # No status until the first scan: a new resident is neither in nor out.
    assert stored.status is None and stored.is_active and stored.pass_version == 1
    assert stored.created_by == warden
    assert default_storage.exists(stored.photo.name)
    assert default_storage.exists(stored.voice_sample.name)
    assert blocks_of(stored) == [
        {
            "type": "register",
            "resident_id": str(stored.id),
            "resident_name": "Ada Okafor",
            "room": "B-214",
            "by": "wendy",
            "photos": 1,
            "voice_recordings": 1,
        }
    ]
    assert chain_verify().valid


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "   ", "room": "B-1"}, "name"),
        ({"name": "Ada", "room": ""}, "room"),
        ({"name": "Ada", "room": "B-1", "email": "not-an-email"}, "email"),
        ({"name": "Ada", "room": "B-1", "phone": "call me"}, "phone"),
        ({"name": "A" * 121, "room": "B-1"}, "name"),
    ],
)
def test_register_refuses_invalid_details_and_writes_nothing(warden, fields, field) -> None:
    files_before = media_files()

    with pytest.raises(ValidationError) as caught:
        services.resident_register(
            by=warden, photos=[uploads.photo_normalise(photo_bytes())], **fields
        )

    assert field in caught.value.message_dict
    assert Resident.objects.count() == 0
    assert Block.objects.count() == 0
    assert media_files() == files_before


def test_a_failure_after_the_block_rolls_back_resident_block_and_files(warden, monkeypatch):
    files_before = media_files()
    original = services.block_append

    def append_then_fail(*, data, subject):
        original(data=data, subject=subject)
        raise RuntimeError("the disk filled up right after the block")

    monkeypatch.setattr(services, "block_append", append_then_fail)

    with pytest.raises(RuntimeError):
        services.resident_register(
            by=warden, name="Ada", room="B-1", photos=[uploads.photo_normalise(photo_bytes())]
        )

    assert Resident.objects.count() == 0
    assert Block.objects.count() == 0
    assert ChainHead.objects.get().size == 0
    assert media_files() == files_before


def test_update_logs_the_changed_field_names(resident, warden) -> None:
    services.resident_update(resident=resident, by=warden, room="C-301", floor=3, name="Ada Okafor")

    resident.refresh_from_db()
    assert (resident.room, resident.floor) == ("C-301", 3)
    last = blocks_of(resident)[-1]
    assert last["type"] == "update"
    assert last["changed"] == ["floor", "room"]
    assert last["room"] == "C-301"


def test_update_without_changes_writes_no_block(resident, warden) -> None:
    before = Block.objects.count()

    services.resident_update(resident=resident, by=warden, name="Ada Okafor", room="B-214")

    assert Block.objects.count() == before


def test_replacing_the_photo_removes_the_old_file_after_commit(resident, warden) -> None:
    old = resident.photo.name

    with pytest.MonkeyPatch.context():
        from django.test import TestCase

        with TestCase.captureOnCommitCallbacks(execute=True):
            services.resident_update(
                resident=resident,
                by=warden,
                photos=[uploads.photo_normalise(photo_bytes("obama_exif_orient6.jpg"))],
            )

    resident.refresh_from_db()
    assert resident.photo.name != old
    assert default_storage.exists(resident.photo.name)
    assert not default_storage.exists(old)
    assert blocks_of(resident)[-1]["changed"] == ["photo"]


def test_deactivate_records_the_move_out_once(resident, warden) -> None:
    services.resident_deactivate(resident=resident, by=warden)

    resident.refresh_from_db()
    assert not resident.is_active and resident.moved_out_on is not None
    assert blocks_of(resident)[-1]["type"] == "deactivate"
    with pytest.raises(ResidentError, match="already moved out"):
        services.resident_deactivate(resident=resident, by=warden)
    assert [b["type"] for b in blocks_of(resident)] == ["register", "deactivate"]


def test_reissue_bumps_the_pass_version(resident, warden) -> None:
    services.pass_reissue(resident=resident, by=warden)
    services.pass_reissue(resident=resident, by=warden)

    resident.refresh_from_db()
    assert resident.pass_version == 3
    assert [b.get("pass_version") for b in blocks_of(resident)][-2:] == [2, 3]


def test_a_moved_out_residents_pass_cannot_be_reissued(resident, warden) -> None:
    services.resident_deactivate(resident=resident, by=warden)
    before = Block.objects.count()

    with pytest.raises(ResidentError, match="moved out"):
        services.pass_reissue(resident=resident, by=warden)

    resident.refresh_from_db()
    assert resident.pass_version == 1
    assert Block.objects.count() == before


@pytest.mark.parametrize(
    ("photo", "code"),
    [("skimage_coffee.jpg", "no_face"), ("two_faces_kit_rose.jpg", "several_faces")],
)
def test_the_service_itself_refuses_a_photo_without_exactly_one_face(warden, photo, code):
    # A caller that skipped enrolment (photo_normalise only) used to get a resident whose
    # photo silently had no face embedding.
    files_before, blocks_before = media_files(), Block.objects.count()

    with pytest.raises(uploads.UploadError) as caught:
        services.resident_register(
            by=warden, name="Ada", room="B-1", photos=[uploads.photo_normalise(photo_bytes(photo))]
        )

    assert caught.value.code == code
    assert not Resident.objects.exists()
    assert Block.objects.count() == blocks_before and media_files() == files_before


def test_the_service_enrols_a_photo_its_caller_did_not(warden):
    resident = services.resident_register(
        by=warden, name="Ada", room="B-1", photos=[uploads.photo_normalise(photo_bytes())]
    )

    stored = Resident.objects.get(pk=resident.pk)
    assert stored.face_embedding is not None and stored.face_model and stored.face_enrolled_at


def test_the_service_refuses_a_voice_without_enough_speech(warden):
    quiet = uploads.voice_normalise(tone_wav(3.0, silent=True))

    with pytest.raises(uploads.UploadError) as caught:
        services.resident_register(by=warden, name="Ada", room="B-1", voices=[quiet])

    assert caught.value.code == "silence"
    assert not Resident.objects.exists() and media_files() == set()
