"""Staff pages, through Django's test client (the browser test covers the JavaScript)."""

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from ledger.models import Block
from residents import services
from residents.models import Resident
from tests.residents.conftest import photo_bytes, upload

XSS = "<script>alert(1)</script>"


@pytest.fixture
def warden_client(client, warden):
    client.force_login(warden)
    return client


def test_registering_through_the_form_saves_everything_and_shows_the_pass_link(warden_client):
    response = warden_client.post(
        "/residents/new",
        {
            "name": "Ada Okafor",
            "room": "B-214",
            "floor": "2",
            "email": "ada@example.org",
            "phone": "+234 801 234 5678",
            "address": "12 Marina Road\nLagos",
            "move_in_date": "2026-09-01",
            "occupation": "Nurse",
            "emergency_contact": "Chidi Okafor +234 802 000 0000",
            "photo_upload": upload("ada.jpg", photo_bytes(), "image/jpeg"),
        },
        follow=True,
    )

    resident = Resident.objects.get()
    assert response.redirect_chain[-1][0] == f"/residents/{resident.pk}/"
    page = response.content.decode()
    assert "Ada Okafor is registered" in page
    assert f"/residents/{resident.pk}/pass" in page
    assert (
        resident.photo
        and resident.occupation == "Nurse"
        and str(resident.move_in_date) == "2026-09-01"
    )
    assert "register" in page  # the history shows the register block


def test_a_bad_photo_is_a_form_error_and_nothing_is_saved(warden_client) -> None:
    response = warden_client.post(
        "/residents/new",
        {"name": "Ada", "room": "B-1", "photo_upload": upload("cv.jpg", b"%PDF-1.7 not a photo")},
    )

    assert response.status_code == 200
    assert "The photo is not an image" in response.content.decode()
    assert not Resident.objects.exists() and not Block.objects.exists()


def test_missing_name_and_room_are_form_errors(warden_client) -> None:
    response = warden_client.post("/residents/new", {"name": "  ", "room": ""})

    page = response.content.decode()
    assert page.count('<p class="error" role="alert">This field is required.</p>') == 2
    assert "Name: This field is required." in page and "Room: This field is required." in page
    assert not Resident.objects.exists()


def test_a_script_in_a_name_is_shown_as_text_everywhere(warden_client, warden, superuser, client):
    resident = services.resident_register(by=warden, name=XSS, room="<i>9</i>", occupation=XSS)
    pages = [
        "/residents/",
        f"/residents/?q={XSS}",
        f"/residents/{resident.pk}/",
        f"/residents/{resident.pk}/edit",
        f"/residents/{resident.pk}/pass",
        f"/residents/{resident.pk}/move-out",
    ]
    for url in pages:
        html = warden_client.get(url).content.decode()
        assert XSS not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url
        assert "<i>9</i>" not in html, url

    assert XSS not in warden_client.get("/").content.decode()
    client.force_login(superuser)
    for url in ["/admin/residents/resident/", f"/admin/residents/resident/{resident.pk}/change/"]:
        html = client.get(url).content.decode()
        assert XSS not in html and "&lt;script&gt;" in html, url
    api = warden_client.get(f"/api/residents/{resident.pk}")
    assert json.loads(api.content)["name"] == XSS and api["Content-Type"] == "application/json"


def test_the_list_searches_and_filters(warden_client, warden) -> None:
    services.resident_register(by=warden, name="Ada Okafor", room="B-214", floor=2)
    services.resident_register(
        by=warden, name="Bo Lindqvist", room="A-101", floor=1, email="bo@x.org"
    )
    gone = services.resident_register(by=warden, name="Cy Moved", room="C-1", floor=1)
    services.resident_deactivate(resident=gone, by=warden)

    def names(query: str) -> list[str]:
        page = warden_client.get(f"/residents/?{query}")
        return [r.name for r in page.context["page"].object_list]

    assert names("") == ["Ada Okafor", "Bo Lindqvist"]
    assert names("q=okafor") == ["Ada Okafor"]
    assert names("q=b-214") == ["Ada Okafor"]
    assert names("q=bo@x") == ["Bo Lindqvist"]
    assert names("floor=1") == ["Bo Lindqvist"]
    assert names("active=no") == ["Cy Moved"]
    assert names("active=all&floor=1&order=-name") == ["Cy Moved", "Bo Lindqvist"]
    assert names("status=IN") == []


def test_the_list_paginates_with_a_flat_query_count(
    warden_client, warden, django_assert_max_num_queries
):
    for n in range(60):
        services.resident_register(by=warden, name=f"Resident {n:02}", room=f"R{n:02}")
    with django_assert_max_num_queries(8) as few:
        first = warden_client.get("/residents/")
    for n in range(60, 200):
        services.resident_register(by=warden, name=f"Resident {n:03}", room=f"R{n:03}")
    with django_assert_max_num_queries(8) as many:
        last = warden_client.get("/residents/?page=8")

    assert len(few.captured_queries) == len(many.captured_queries)
    assert first.context["page"].paginator.num_pages == 3
    assert "Page 8 of 8" in last.content.decode()


def test_editing_moving_out_and_reissuing_from_the_pages(warden_client, resident) -> None:
    edit = warden_client.post(
        f"/residents/{resident.pk}/edit", {"name": "Ada Okafor", "room": "C-301", "floor": "3"}
    )
    assert edit.status_code == 302
    warden_client.post(f"/residents/{resident.pk}/pass/reissue")
    today = str(timezone.localdate())
    warden_client.post(f"/residents/{resident.pk}/move-out", {"moved_out_on": today})

    resident.refresh_from_db()
    assert (resident.room, resident.pass_version, resident.is_active) == ("C-301", 2, False)
    assert str(resident.moved_out_on) == today
    types = list(Block.objects.filter(subject=str(resident.pk)).values_list("type", flat=True))
    assert types == ["register", "update", "pass_reissue", "deactivate"]
    again = warden_client.post(f"/residents/{resident.pk}/move-out", {}, follow=True)
    assert "already moved out" in again.content.decode()


def test_photos_are_served_only_through_the_login_protected_view(client, resident, guard):
    assert not resident.photo.name.startswith("/")
    assert client.get(f"/media/{resident.photo.name}").status_code == 404  # no public media URL
    assert client.get(f"/residents/{resident.pk}/photo").status_code == 302

    client.force_login(guard)
    photo = client.get(f"/residents/{resident.pk}/photo")
    assert photo.status_code == 200
    assert photo["Content-Type"] == "image/jpeg" and photo["Cache-Control"] == "private, no-store"
    assert b"".join(photo.streaming_content)[:3] == b"\xff\xd8\xff"


def test_the_web_server_can_send_the_file_after_the_view_says_yes(
    client, resident, guard, settings
):
    settings.PROTECTED_MEDIA_ACCEL_PREFIX = "/_protected/"
    client.force_login(guard)

    response = client.get(f"/residents/{resident.pk}/photo")

    assert response["X-Accel-Redirect"] == f"/_protected/{resident.photo.name}"
    assert response.content == b""


def test_the_admin_lists_residents_with_thumbnails_and_writes_through_services(
    client, superuser, resident
) -> None:
    client.force_login(superuser)
    listing = client.get("/admin/residents/resident/?q=okafor")
    assert f'src="/residents/{resident.pk}/photo"' in listing.content.decode()
    assert client.get(f"/admin/residents/resident/{resident.pk}/delete/").status_code == 403

    added = client.post(
        "/admin/residents/resident/add/", {"name": "Dee Admin", "room": "D-4", "floor": ""}
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    dee = Resident.objects.get(name="Dee Admin")
    assert Block.objects.filter(subject=str(dee.pk), type="register").count() == 1

    client.post(
        "/admin/residents/resident/",
        {"action": "reissue_passes", "_selected_action": [str(dee.pk), str(resident.pk)]},
    )
    assert Block.objects.filter(type="pass_reissue").count() == 2
    assert reverse("residents:detail", args=[dee.pk]).endswith(f"{dee.pk}/")
