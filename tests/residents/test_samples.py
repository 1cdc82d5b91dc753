"""Several photos and voice recordings per resident: the gate compares a scan with their centre.

Real faces and voices throughout (tests/fixtures): three photos of Barack Obama (one of them
EXIF-rotated), Joe Biden, Yale subjects; CMU ARCTIC sentences of two speakers.
"""

import numpy as np
import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from ledger.models import Block
from residents import services, uploads
from residents.errors import ResidentError
from residents.models import Resident, Sample
from tests.residents.conftest import FIXTURES, speech_wav, upload

OBAMA = ("obama_640x480.jpg", "obama_2.jpg", "obama_exif_orient6.jpg")


def photo_bytes(name: str) -> bytes:
    return (FIXTURES / "faces" / name).read_bytes()


def photos(*names: str) -> list[uploads.Photo]:
    return [uploads.photo_enrol(photo_bytes(name)) for name in names]


def voices(*names: str) -> list[uploads.Voice]:
    return [uploads.voice_enrol(speech_wav(name)) for name in names]


def centre(resident: Resident, kind: str = "face") -> np.ndarray:
    return np.frombuffer(bytes(getattr(resident, f"{kind}_embedding")), dtype=np.float32)


def stored_files() -> set[str]:
    found = set()
    for folder in ("photos", "voices", "samples"):
        if default_storage.exists(folder):
            found |= {f"{folder}/{name}" for name in default_storage.listdir(folder)[1]}
    return found


def api_as(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def last_block() -> dict:
    return Block.objects.order_by("-index")[0].payload


def embedding(item: uploads.Photo | uploads.Voice) -> np.ndarray:
    found = item.face if isinstance(item, uploads.Photo) else item.embedding
    assert found is not None
    return found


def test_registration_with_three_photos_enrols_their_centre(warden) -> None:
    three = photos(*OBAMA)

    ada = services.resident_register(by=warden, name="Barack", room="R-1", photos=three)

    samples = list(ada.samples.filter(kind="face"))
    assert len(samples) == 3
    expected = np.mean([embedding(photo) for photo in three], axis=0)
    assert np.allclose(centre(ada), expected, atol=1e-6)
    # The first photo is the one shown at the gate: one file, named by both.
    assert samples[0].file.name == ada.photo.name
    assert all(default_storage.exists(sample.file.name) for sample in samples)
    assert last_block()["photos"] == 3


def test_photos_of_two_people_are_refused_and_leave_nothing_behind(warden) -> None:
    before = (Resident.objects.count(), Block.objects.count(), stored_files())

    with pytest.raises(ResidentError) as caught:
        services.resident_register(
            by=warden, name="Barack", room="R-1", photos=photos(OBAMA[0], OBAMA[1], "biden.jpg")
        )

    assert caught.value.code == "different_faces"
    assert "Photo 3 is not of the same person as the other photos" in str(caught.value)
    assert (Resident.objects.count(), Block.objects.count(), stored_files()) == before


def test_voice_recordings_of_two_speakers_are_refused(warden) -> None:
    with pytest.raises(ResidentError) as caught:
        services.resident_register(
            by=warden, name="Alan", room="A-1", voices=voices("aew_a0001", "axb_a0004")
        )

    assert caught.value.code == "different_voices"
    assert not Resident.objects.exists()


def test_two_recordings_enrol_their_unit_length_centre(warden) -> None:
    two = voices("aew_a0001", "aew_a0002")

    alan = services.resident_register(by=warden, name="Alan", room="A-1", voices=two)

    expected = embedding(two[0]) + embedding(two[1])
    assert np.allclose(centre(alan, "voice"), expected / np.linalg.norm(expected), atol=1e-5)
    assert alan.samples.filter(kind="voice").count() == 2
    assert last_block()["voice_recordings"] == 2


def test_a_refused_genuine_scan_passes_once_a_warden_adds_a_photo(warden, guard, settings) -> None:
    """The gate's threshold is set tight (0.30), so that a genuine photo 0.36 from the only
    enrolment photo is refused, as at a real gate a photo in other light can be; added to
    the enrolment by a warden, the same resident's other photos then pass."""
    settings.FACE_MATCH_THRESHOLD = 0.30
    barack = services.resident_register(
        by=warden, name="Barack", room="R-1", photos=photos(OBAMA[0])
    )
    gate = APIClient()
    gate.force_authenticate(guard)

    def scan(name: str):
        return gate.post("/api/scan", {"mode": "face", "photo": upload("p.jpg", photo_bytes(name))})

    refused = scan(OBAMA[2])
    office = APIClient()
    office.force_authenticate(warden)
    added = office.post(
        f"/api/residents/{barack.pk}/samples",
        {"photo": upload("p.jpg", photo_bytes(OBAMA[1]))},
        format="multipart",
    )
    accepted = scan(OBAMA[2])

    assert refused.status_code == 404, refused.content
    assert refused.json()["error"]["code"] == "no_confident_match"
    assert added.status_code == 201, added.content
    assert added.json() == {"id": str(barack.pk), "photos": 2, "voice_recordings": 0}
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["event"]["resident_id"] == str(barack.pk)
    update = Block.objects.filter(subject=str(barack.pk)).order_by("-index")[1].payload
    assert update["changed"] == ["face_samples"] and update["photos"] == 2


def test_adding_another_persons_face_is_refused(warden) -> None:
    barack = services.resident_register(
        by=warden, name="Barack", room="R-1", photos=photos(OBAMA[0])
    )
    before = (Block.objects.count(), stored_files())

    with pytest.raises(ResidentError) as caught:
        services.resident_sample_add(resident=barack, by=warden, photo=photos("biden.jpg")[0])

    assert caught.value.code == "different_faces"
    assert "does not look like Barack's other photos" in str(caught.value)
    assert (Block.objects.count(), stored_files()) == before
    assert barack.samples.count() == 1


def orl(*names: str) -> list[uploads.Photo]:
    folder = FIXTURES / "faces" / "orl"
    return [uploads.photo_enrol((folder / name).read_bytes()) for name in names]


def test_a_stranger_close_to_the_centre_of_several_photos_is_refused(warden) -> None:
    """Found in a tryout: the centre of several photos lies closer to everyone than any one
    photo, so another man's photo (ORL s19, 0.55 from the centre of s20's four) was added,
    and s19 then passed the gate as this resident. A photo must now also lie within the
    same-person limit of most of the resident's photos one by one (it is 0.6 and more from
    them)."""
    resident = services.resident_register(
        by=warden, name="Twenty", room="R-20", photos=orl("s20/1.jpg", "s20/2.jpg", "s20/4.jpg")
    )
    services.resident_sample_add(resident=resident, by=warden, photo=orl("s20/5.jpg")[0])
    before = (Block.objects.count(), stored_files())

    with pytest.raises(ResidentError) as caught:
        services.resident_sample_add(resident=resident, by=warden, photo=orl("s19/2.jpg")[0])

    assert caught.value.code == "different_faces"
    assert (Block.objects.count(), stored_files()) == before
    services.resident_sample_add(resident=resident, by=warden, photo=orl("s20/6.jpg")[0])
    assert resident.samples.filter(kind="face").count() == 5


def test_the_gate_offers_to_add_only_a_photo_the_same_person_check_would_take(
    warden, settings
) -> None:
    """A review found the gate still offered *Add this photo* by the distance from the
    centre alone: the stranger above (0.55 from it) was offered to a warden, and the add
    then refused with another distance. The offer now uses the same measure and limit.
    (The threshold is set low so that his own next photo is refused too.)"""
    settings.FACE_MATCH_THRESHOLD = 0.2
    resident = services.resident_register(
        by=warden, name="Twenty", room="R-20", photos=orl(*(f"s20/{n}.jpg" for n in (1, 2, 4, 5)))
    )
    api = api_as(warden)

    def picture(name: str):
        return upload("p.jpg", (FIXTURES / "faces" / "orl" / name).read_bytes())

    def closest(name: str) -> dict | None:
        response = api.post("/api/scan", {"mode": "face", "photo": picture(name)})
        assert response.status_code == 404, response.content
        return response.json()["error"].get("closest")

    assert closest("s19/2.jpg") is None
    offered = closest("s20/6.jpg")
    assert offered is not None and offered["id"] == str(resident.pk)
    added = api.post(offered["add_photo_url"], {"photo": picture("s20/6.jpg")})
    assert added.status_code == 201, added.content


def test_adding_an_enrolled_residents_face_to_someone_else_is_refused(warden) -> None:
    services.resident_register(by=warden, name="Barack", room="R-1", photos=photos(OBAMA[0]))
    joe = services.resident_register(by=warden, name="Joe", room="R-2", photos=photos("biden.jpg"))

    with pytest.raises(ResidentError) as caught:
        services.resident_sample_add(resident=joe, by=warden, photo=photos(OBAMA[1])[0])

    assert caught.value.code == "duplicate_face"


def test_past_five_photos_the_oldest_added_one_goes_and_the_registration_photo_stays(
    warden, django_capture_on_commit_callbacks
) -> None:
    yale = [f"yale/subject04_{n}.jpg" for n in (1, 5, 7)]
    barack = services.resident_register(by=warden, name="Sub", room="R-1", photos=photos(yale[0]))
    for name in [yale[1], yale[2], yale[1], yale[2]]:
        services.resident_sample_add(resident=barack, by=warden, photo=photos(name)[0])
    first_added = barack.samples.filter(kind="face").order_by("created_at", "pk")[1]

    with django_capture_on_commit_callbacks(execute=True):
        services.resident_sample_add(resident=barack, by=warden, photo=photos(yale[1])[0])

    kept = list(barack.samples.filter(kind="face"))
    assert len(kept) == 5
    assert kept[0].file.name == Resident.objects.get(pk=barack.pk).photo.name
    assert first_added.pk not in {sample.pk for sample in kept}
    assert not default_storage.exists(first_added.file.name)
    assert default_storage.exists(kept[0].file.name)


def test_new_photos_on_edit_replace_all_the_old_ones(
    warden, django_capture_on_commit_callbacks
) -> None:
    barack = services.resident_register(
        by=warden, name="Barack", room="R-1", photos=photos(OBAMA[0], OBAMA[1])
    )
    old_files = {sample.file.name for sample in barack.samples.all()}

    with django_capture_on_commit_callbacks(execute=True):
        services.resident_update(resident=barack, by=warden, photos=photos(OBAMA[2]))

    barack.refresh_from_db()
    samples = list(barack.samples.all())
    assert len(samples) == 1 and samples[0].file.name == barack.photo.name
    assert not any(default_storage.exists(name) for name in old_files)
    assert np.allclose(centre(barack), embedding(photos(OBAMA[2])[0]), atol=1e-6)


def test_a_resident_without_a_photo_gets_the_added_one_as_their_photo(warden) -> None:
    ada = services.resident_register(by=warden, name="Ada", room="R-1")

    services.resident_sample_add(resident=ada, by=warden, photo=photos(OBAMA[0])[0])

    ada.refresh_from_db()
    assert ada.photo and ada.face_embedding is not None
    assert ada.samples.get().file.name == ada.photo.name


# --- The API ------------------------------------------------------------------------------------


def test_the_api_registers_with_several_photos_and_recordings(warden) -> None:
    api = api_as(warden)

    response = api.post(
        "/api/register",
        {
            "name": "Barack",
            "room": "R-1",
            "photo": [upload(f"{n}.jpg", photo_bytes(name)) for n, name in enumerate(OBAMA)],
            "voice": [upload(f"{n}.wav", speech_wav(n)) for n in ("aew_a0001", "aew_a0002")],
        },
        format="multipart",
    )

    assert response.status_code == 201, response.content
    barack = Resident.objects.get(pk=response.json()["id"])
    assert barack.samples.filter(kind="face").count() == 3
    assert barack.samples.filter(kind="voice").count() == 2


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        ({}, 400, "invalid"),  # neither a photo nor a recording
        ({"photo": "not a file"}, 400, "invalid_photo"),
        ("both", 400, "invalid"),
        ({"photo": upload("x.jpg", b"GIF89a not a photo")}, 400, "invalid"),
        ({"photo": upload("x.jpg", photo_bytes("skimage_coffee.jpg"))}, 400, "invalid"),
        ({"photo": upload("x.jpg", photo_bytes("biden.jpg"))}, 422, "different_faces"),
        ({"voice": upload("x.wav", speech_wav("axb_a0004"))}, 422, "different_voices"),
    ],
)
def test_the_sample_api_refuses_bad_input_and_changes_nothing(warden, data, status, code) -> None:
    barack = services.resident_register(
        by=warden, name="Barack", room="R-1", photos=photos(OBAMA[0]), voices=voices("aew_a0001")
    )
    if data == "both":
        data = {
            "photo": upload("x.jpg", photo_bytes(OBAMA[1])),
            "voice": upload("x.wav", speech_wav("aew_a0002")),
        }
    api = api_as(warden)
    before = (Block.objects.count(), Sample.objects.count(), stored_files())

    response = api.post(f"/api/residents/{barack.pk}/samples", data, format="multipart")

    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert (Block.objects.count(), Sample.objects.count(), stored_files()) == before


def test_the_sample_api_needs_the_change_permission_and_a_resident(warden, guard) -> None:
    barack = services.resident_register(
        by=warden, name="Barack", room="R-1", photos=photos(OBAMA[0])
    )
    api = APIClient()
    api.force_authenticate(guard)
    forbidden = api.post(
        f"/api/residents/{barack.pk}/samples",
        {"photo": upload("p.jpg", photo_bytes(OBAMA[1]))},
        format="multipart",
    )
    api.force_authenticate(warden)
    missing = api.post(
        "/api/residents/00000000-0000-0000-0000-000000000000/samples",
        {"photo": upload("p.jpg", photo_bytes(OBAMA[1]))},
        format="multipart",
    )

    assert forbidden.status_code == 403
    assert missing.status_code == 404
    assert barack.samples.count() == 1


def test_the_api_refuses_six_photos_at_registration(warden) -> None:
    api = api_as(warden)

    response = api.post(
        "/api/register",
        {
            "name": "B",
            "room": "R-1",
            "photo": [upload(f"{n}.jpg", photo_bytes(OBAMA[0])) for n in range(6)],
        },
        format="multipart",
    )

    assert response.status_code == 400
    assert "photo" in response.json()["error"]["fields"]
    assert not Resident.objects.exists()


# --- The pages ----------------------------------------------------------------------------------


def test_the_resident_page_shows_the_samples_and_adds_a_photo(client, warden) -> None:
    barack = services.resident_register(
        by=warden, name="Barack", room="R-1", photos=photos(OBAMA[0])
    )
    client.force_login(warden)

    page = client.get(f"/residents/{barack.pk}/").content.decode()
    added = client.post(
        f"/residents/{barack.pk}/samples",
        {"photo": upload("p.jpg", photo_bytes(OBAMA[1]))},
        follow=True,
    ).content.decode()
    refused = client.post(
        f"/residents/{barack.pk}/samples",
        {"photo": upload("p.jpg", photo_bytes("biden.jpg"))},
        follow=True,
    ).content.decode()

    assert 'Photos <span class="muted">(1 of 5)</span>' in page and "Add a photo" in page
    assert "Barack is enrolled with 2 photos and 0 voice recordings." in added
    assert "(2 of 5)" in added and added.count("Enrolment photo ") == 2
    assert "does not look like Barack&#x27;s other photos" in refused
    sample = barack.samples.all()[0]
    served = client.get(f"/residents/{barack.pk}/samples/{sample.pk}")
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"


def test_the_register_page_takes_several_photos(client, warden) -> None:
    client.force_login(warden)

    response = client.post(
        "/residents/new",
        {
            "name": "Barack",
            "room": "R-1",
            "photo_upload": [upload(f"{n}.jpg", photo_bytes(name)) for n, name in enumerate(OBAMA)],
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Resident.objects.get().samples.count() == 3


def test_the_register_page_names_the_photo_of_someone_else(client, warden) -> None:
    client.force_login(warden)

    response = client.post(
        "/residents/new",
        {
            "name": "Barack",
            "room": "R-1",
            "photo_upload": [
                upload("a.jpg", photo_bytes(OBAMA[0])),
                upload("b.jpg", photo_bytes("biden.jpg")),
            ],
        },
    )

    assert response.status_code == 200
    assert "The two photos are not of the same person" in response.content.decode()
    assert not Resident.objects.exists()
    # The photos that passed their checks are kept for the next try.
    assert response.context["form"]["photo_kept"].value().count(",") == 1


def test_the_migration_makes_each_enrolled_residents_photo_and_recording_a_sample(
    warden,
) -> None:
    """Residents enrolled before several samples existed (one photo, one recording, no
    sample rows) keep being recognised: their photo and recording become their samples."""
    from importlib import import_module

    from django.apps import apps

    migration = import_module("residents.migrations.0014_samples")
    barack = services.resident_register(
        by=warden, name="Barack", room="R-1", photos=photos(OBAMA[0]), voices=voices("aew_a0001")
    )
    services.resident_register(by=warden, name="Ada", room="R-2")  # nothing to carry over
    Sample.objects.all().delete()

    migration.samples_from_enrolments(apps, None)

    face, voice = barack.samples.get(kind="face"), barack.samples.get(kind="voice")
    assert face.file.name == barack.photo.name and voice.file.name == barack.voice_sample.name
    assert bytes(face.embedding) == centre(barack).tobytes()
    assert bytes(voice.embedding) == centre(barack, "voice").tobytes()
    assert Sample.objects.count() == 2


def test_a_refused_face_names_the_closest_resident_to_a_warden_only(
    warden, guard, settings
) -> None:
    settings.FACE_MATCH_THRESHOLD = 0.30
    barack = services.resident_register(
        by=warden, name="Barack", room="R-1", photos=photos(OBAMA[0])
    )
    api = APIClient()

    def refusal(user, name: str) -> dict:
        api.force_authenticate(user)
        response = api.post(
            "/api/scan", {"mode": "face", "photo": upload("p.jpg", photo_bytes(name))}
        )
        assert response.status_code == 404, response.content
        return response.json()["error"]

    to_warden = refusal(warden, OBAMA[2])
    to_guard = refusal(guard, OBAMA[2])
    stranger = refusal(warden, "biden.jpg")

    closest = to_warden["closest"]
    assert (closest["id"], closest["name"], closest["room"]) == (str(barack.pk), "Barack", "R-1")
    assert 0.30 < closest["distance"] < 0.6
    assert closest["add_photo_url"].endswith(f"/api/residents/{barack.pk}/samples")
    assert "resident" not in to_warden  # not recorded, nor shown, as who it was
    assert "closest" not in to_guard
    assert "closest" not in stranger  # 0.82 away: nobody close
    denied = Block.objects.filter(type="denied").order_by("index")
    assert denied and not any(block.payload.get("resident_id") for block in denied)


def test_the_api_names_which_of_several_photos_is_not_a_file(warden) -> None:
    api = api_as(warden)

    response = api.post(
        "/api/register",
        {"name": "B", "room": "R-1", "photo": [upload("a.jpg", photo_bytes(OBAMA[0])), "text"]},
        format="multipart",
    )

    assert response.status_code == 400
    error = response.json()["error"]
    # Which one: Django's multipart parsing puts text parts before files, so it is "1" here.
    assert error["fields"]["photo"] == [
        "Photo 1: The submitted data was not a file. Check the encoding type on the form."
    ]
    assert error["message"] == error["fields"]["photo"][0]


def test_the_sample_api_takes_a_data_url_as_the_gate_sends_it(warden) -> None:
    import base64

    barack = services.resident_register(
        by=warden, name="Barack", room="R-1", photos=photos(OBAMA[0])
    )
    api = api_as(warden)
    url = "data:image/jpeg;base64," + base64.b64encode(photo_bytes(OBAMA[1])).decode()

    response = api.post(f"/api/residents/{barack.pk}/samples", {"photo": url}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["photos"] == 2


def test_a_form_that_comes_back_with_long_recordings_can_still_be_sent(client, warden) -> None:
    """Found: three 25 s recordings and two photos kept in the form that came back (the room
    was missing) passed Django's 2.5 MB limit on form fields, and sending the corrected form
    answered 400 and lost it."""
    long = uploads.voice_normalise(speech_wav())
    pcm = np.tile((long.samples * 32767).astype(np.int16), int(25 // long.seconds) + 1)
    wav = uploads.wav_bytes(pcm[: 25 * uploads.VOICE_RATE], uploads.VOICE_RATE)
    client.force_login(warden)
    first = client.post(
        "/residents/new",
        {
            "name": "Alan",
            "room": "",
            "photo_upload": [upload(f"{n}.jpg", photo_bytes(OBAMA[n])) for n in range(2)],
            "voice_upload": [upload(f"{n}.wav", wav) for n in range(3)],
        },
    )
    kept = {key: first.context["form"][key].value() for key in ("photo_kept", "voice_kept")}
    assert sum(len(value) for value in kept.values()) > 2.5 * 1024 * 1024

    second = client.post("/residents/new", {"name": "Alan", "room": "A-1", **kept})

    assert second.status_code == 302, second.content.decode()[:500]
    alan = Resident.objects.get()
    assert (
        alan.samples.filter(kind="face").count(),
        alan.samples.filter(kind="voice").count(),
    ) == (
        2,
        3,
    )


def test_a_photo_held_back_as_a_lookalike_is_added_once_confirmed(client, warden) -> None:
    """Found: the resident page's Add a photo said "confirm it and register again", with
    nothing to confirm and nothing to register."""
    services.resident_register(by=warden, name="Barack", room="R-1", photos=photos(OBAMA[0]))
    barry = services.resident_register(by=warden, name="Barry", room="R-2")
    client.force_login(warden)

    held = client.post(
        f"/residents/{barry.pk}/samples",
        {"photo": upload("p.jpg", photo_bytes(OBAMA[1]))},
        follow=True,
    ).content.decode()
    added = client.post(
        f"/residents/{barry.pk}/samples",
        {"photo": upload("p.jpg", photo_bytes(OBAMA[1])), "same_face_confirmed": "on"},
        follow=True,
    ).content.decode()

    assert "looks like Barack" in held and "tick &#x27;It is Barry&#x27; and add it again" in held
    assert 'name="same_face_confirmed"' in held
    assert "Barry is enrolled with 1 photo " in added
