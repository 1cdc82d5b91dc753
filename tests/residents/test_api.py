"""The REST API: JWT, register (JSON and multipart), list, detail, the error envelope."""

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from ledger.models import Block
from residents.models import Resident
from tests.residents.conftest import PASSWORD, photo_bytes, tone_wav, upload, webm_opus
from tests.residents.test_uploads import animated_gif, jpeg_with_gps, png_declaring


def token_for(client: APIClient, username: str) -> str:
    response = client.post(
        "/api/token", {"username": username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["access"]


@pytest.fixture
def api(warden) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(client, warden.username)}")
    return client


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["message"]
    if code:
        assert error["code"] == code
    return error


def stored_media() -> list[str]:
    found = []
    for folder in ("photos", "voices"):
        if default_storage.exists(folder):
            found += default_storage.listdir(folder)[1]
    return found


# --- JWT --------------------------------------------------------------------------------------


def test_a_token_pair_is_issued_for_good_credentials_and_refreshes(warden) -> None:
    client = APIClient()
    pair = client.post("/api/token/", {"username": "wendy", "password": PASSWORD}, format="json")
    assert pair.status_code == 200
    assert set(pair.json()) == {"access", "refresh"}

    refreshed = client.post(
        "/api/token/refresh", {"refresh": pair.json()["refresh"]}, format="json"
    )

    assert refreshed.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert client.get("/api/residents").status_code == 200


def test_wrong_credentials_get_a_401_in_the_error_format(warden) -> None:
    response = APIClient().post(
        "/api/token", {"username": "wendy", "password": "nope"}, format="json"
    )

    assert_error(response, 401)


def test_an_expired_access_token_is_refused(warden) -> None:
    token = AccessToken.for_user(warden)
    token.set_exp(lifetime=-__import__("datetime").timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    error = assert_error(client.get("/api/residents"), 401, "token_not_valid")
    assert "expired" in str(error).lower()


def test_a_tampered_token_is_refused(warden) -> None:
    client = APIClient()
    header, payload, signature = token_for(client, "wendy").split(".")
    forged = ".".join(
        [header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")]
    )
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")

    assert_error(client.get("/api/residents"), 401, "token_not_valid")


def test_a_missing_or_malformed_header_is_refused(warden) -> None:
    client = APIClient()
    assert_error(client.get("/api/residents"), 401, "not_authenticated")
    client.credentials(HTTP_AUTHORIZATION="Token abc")
    assert_error(client.get("/api/residents"), 401)


# --- Register -------------------------------------------------------------------------------


def test_register_by_json_returns_201_and_writes_one_block(api) -> None:
    response = api.post(
        "/api/register",
        {"name": "Bo Lindqvist", "room": "A-101", "floor": 1, "email": "bo@example.org"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == "Bo Lindqvist" and body["status"] is None and body["photo_url"] is None
    assert Block.objects.filter(subject=body["id"], type="register").count() == 1


def test_register_by_multipart_with_photo_and_voice(api) -> None:
    response = api.post(
        "/api/register/",
        {
            "name": "Chen Wei",
            "room": "C-3",
            "photo": upload("me.png", photo_bytes(), "image/png"),
            "voice": upload("me.webm", webm_opus(), "audio/webm"),
        },
        format="multipart",
    )

    assert response.status_code == 201, response.content
    resident = Resident.objects.get(pk=response.json()["id"])
    assert resident.photo and resident.voice_sample
    assert response.json()["photo_url"].endswith(f"/api/residents/{resident.pk}/photo")
    photo = api.get(response.json()["photo_url"])
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"
    card = api.get(response.json()["pass_url"])
    assert card.status_code == 200 and card["Content-Type"] == "image/png"


@pytest.mark.parametrize(
    ("field", "content", "message"),
    [
        ("photo", b"just text" * 100, "not an image"),
        ("photo", photo_bytes()[:20_000], "damaged or incomplete"),
        ("photo", png_declaring(20_000, 20_000), "megapixels"),
        ("photo", animated_gif(), "GIF"),
        ("photo", b"\xff\xd8\xff" + b"\x00" * (15 * 1024 * 1024), "larger than 10 MB"),
        ("voice", b"not audio at all" * 100, "could not be read as audio"),
        ("voice", tone_wav(40), "longer than 30 seconds"),
    ],
    ids=["text", "truncated", "bomb", "gif", "15mb", "not-audio", "40s"],
)
def test_bad_uploads_get_a_400_naming_the_field_and_leave_nothing(api, field, content, message):
    response = api.post(
        "/api/register",
        {"name": "Dee", "room": "D-4", field: upload(f"{field}.jpg", content)},
        format="multipart",
    )

    error = assert_error(response, 400, "invalid")
    assert message in " ".join(error["fields"][field])
    assert not Resident.objects.exists()
    assert not Block.objects.exists()
    assert stored_media() == []


def test_gps_is_gone_from_a_photo_registered_through_the_api(api) -> None:
    response = api.post(
        "/api/register",
        {"name": "Eve", "room": "E-5", "photo": upload("gps.jpg", jpeg_with_gps(), "image/jpeg")},
        format="multipart",
    )

    resident = Resident.objects.get(pk=response.json()["id"])
    with resident.photo.open("rb") as stored:
        assert b"PhoneMaker" not in stored.read()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"room": "A-1"}, "name"),
        ({"name": "Ann"}, "room"),
        ({"name": "Ann", "room": "A-1", "email": "nope"}, "email"),
        ({"name": "Ann", "room": "A-1", "phone": "call me maybe"}, "phone"),
        ({"name": "Ann", "room": "A-1", "floor": "third"}, "floor"),
        ({"name": "   ", "room": "A-1"}, "name"),
    ],
)
def test_invalid_fields_get_a_400_with_fields(api, payload, field) -> None:
    error = assert_error(api.post("/api/register", payload, format="json"), 400, "invalid")

    assert field in error["fields"]
    assert not Resident.objects.exists()


def test_malformed_json_is_a_400_not_a_500(api) -> None:
    response = api.generic("POST", "/api/register", "{not json", content_type="application/json")

    assert_error(response, 400, "parse_error")


# --- Read -----------------------------------------------------------------------------------


def test_the_list_searches_filters_and_paginates(api, warden) -> None:
    from residents import services

    for n in range(30):
        services.resident_register(
            by=warden, name=f"Resident {n:02}", room=f"R-{n:02}", floor=n % 3
        )
    services.resident_register(by=warden, name="Zed Unique", room="Z-9", phone="+44 20 7946 0000")

    first = api.get("/api/residents", {"page_size": 10}).json()
    floor_2 = api.get("/api/residents/", {"floor": 2, "page_size": 100}).json()
    by_phone = api.get("/api/residents", {"search": "7946"}).json()

    assert first["count"] == 31 and len(first["results"]) == 10 and first["next"]
    assert floor_2["count"] == 10 and {r["floor"] for r in floor_2["results"]} == {2}
    assert [r["name"] for r in by_phone["results"]] == ["Zed Unique"]
    assert_error(api.get("/api/residents", {"status": "MAYBE"}), 400, "invalid")


def test_detail_returns_the_resident_or_a_json_404(api, resident) -> None:
    found = api.get(f"/api/residents/{resident.pk}")
    missing = api.get("/api/residents/00000000-0000-0000-0000-000000000000")
    not_a_uuid = api.get("/api/residents/42")

    assert found.status_code == 200 and found.json()["room"] == "B-214"
    assert_error(missing, 404, "not_found")
    assert_error(not_a_uuid, 404, "not_found")


def test_the_openapi_schema_describes_the_endpoints(api) -> None:
    schema = api.get("/api/schema").json()

    assert schema["openapi"].startswith("3.")
    assert {"/api/register", "/api/residents", "/api/token"} <= set(schema["paths"])
