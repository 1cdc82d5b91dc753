"""Visitors: let in with a day pass, let out, listed while inside, photos deleted after the
retention period; each step a ledger block."""

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from ledger.models import Block
from residents import services as resident_services
from residents import uploads
from residents.models import Gate
from tests.residents.conftest import client_for, photo_bytes
from visitors import passes, selectors, services
from visitors.errors import VisitorError
from visitors.models import Visitor

pytestmark = pytest.mark.django_db


def let_in(resident, guard, **extra) -> Visitor:
    arguments = {"name": "Chidi Eze", "phone": "+234 802 000 1111", "hours": 2.0, "photo": None}
    return services.visitor_check_in(host=resident, by=guard, **{**arguments, **extra})


def test_a_guard_lets_a_visitor_in_and_out_and_the_ledger_has_both(resident, guard) -> None:
    visitor = let_in(resident, guard)
    assert list(selectors.visitors_inside()) == [visitor]

    services.visitor_check_out(visitor=visitor, by=guard)

    assert list(selectors.visitors_inside()) == []
    events = [b.payload for b in Block.objects.filter(type__startswith="visitor").order_by("index")]
    assert [(e["type"], e["visitor_name"], e["resident_id"]) for e in events] == [
        ("visitor_in", "Chidi Eze", str(resident.pk)),
        ("visitor_out", "Chidi Eze", str(resident.pk)),
    ]
    with pytest.raises(VisitorError) as caught:
        services.visitor_check_out(visitor=visitor, by=guard)
    assert caught.value.code == "checked_out"


def test_a_moved_out_resident_gets_no_visitors(resident, warden, guard) -> None:
    resident_services.resident_deactivate(resident=resident, by=warden)

    with pytest.raises(VisitorError) as caught:
        let_in(resident, guard)

    assert caught.value.code == "inactive" and not Visitor.objects.exists()


@pytest.mark.parametrize(
    ("extra", "message"), [({"hours": 20}, "up to 16 hours"), ({"phone": "12"}, "Phone")]
)
def test_bad_input_is_refused_and_leaves_nothing(resident, guard, extra, message) -> None:
    photo = uploads.photo_normalise(photo_bytes())
    with pytest.raises(VisitorError) as caught:
        let_in(resident, guard, photo=photo, **extra)

    assert message in caught.value.message
    assert not Visitor.objects.exists()
    assert not default_storage.exists("visitors") or default_storage.listdir("visitors")[1] == []


def test_the_day_pass_works_today_only(resident, guard) -> None:
    visitor = let_in(resident, guard)
    today = timezone.localdate()
    token = passes.visitor_pass_token(visitor.pk, today)

    assert passes.visitor_pass_read(token).visitor_id == visitor.pk
    with pytest.raises(passes.VisitorPassError, match="expired"):
        passes.visitor_pass_read(token, today=today + timedelta(days=1))
    with pytest.raises(passes.VisitorPassError, match="not a visitor's pass"):
        passes.visitor_pass_read(token[:-3] + "abc")


def test_photos_are_deleted_after_the_retention_period(
    resident, guard, settings, django_capture_on_commit_callbacks
) -> None:
    settings.VISITOR_RETENTION_DAYS = 30
    old = let_in(resident, guard, photo=uploads.photo_normalise(photo_bytes()))
    recent = let_in(resident, guard, photo=uploads.photo_normalise(photo_bytes()))
    name = old.photo.name
    Visitor.objects.filter(pk=old.pk).update(checked_in_at=timezone.now() - timedelta(days=31))

    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_visitor_photos")

    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.photo.name == "" and old.photo_deleted_at is not None
    assert not default_storage.exists(name)
    assert recent.photo.name and default_storage.exists(recent.photo.name)
    [event] = [b.payload for b in Block.objects.filter(type="visitor_photos_deleted")]
    assert event["count"] == 1


def test_the_api_lets_a_visitor_in_with_a_day_pass(resident, guard) -> None:
    response = client_for(guard).post(
        "/api/visitors",
        {"name": "Chidi Eze", "phone": "+234 802 000 1111", "host_resident_id": str(resident.pk)},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["host_resident_id"] == str(resident.pk) and answer["inside"] is True
    claim = passes.visitor_pass_read(answer["day_pass"]["token"])
    assert str(claim.visitor_id) == answer["id"]
    assert client_for(guard).get(answer["day_pass"]["qr_url"]).status_code == 200
    listed = client_for(guard).get("/api/visitors").json()
    assert [v["id"] for v in listed["results"]] == [answer["id"]]

    out = client_for(guard).post(f"/api/visitors/{answer['id']}/check-out")
    again = client_for(guard).post(f"/api/visitors/{answer['id']}/check-out")
    assert out.status_code == 200 and out.json()["inside"] is False
    assert again.status_code == 409 and again.json()["error"]["code"] == "checked_out"


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"host_resident_id": "00000000-0000-0000-0000-000000000000"}, 404),
        ({"host_resident_id": "nope"}, 400),
        ({"name": 5}, 400),
        ({"hours": 99}, 400),
        ({"photo": "data:image/jpeg;base64,!!!"}, 400),
    ],
)
def test_hostile_api_input_is_a_clear_error(resident, guard, change, status) -> None:
    body = {"name": "X Y", "phone": "+234 802 000 1111", "host_resident_id": str(resident.pk)}
    response = client_for(guard).post(
        "/api/visitors", {**body, **change}, content_type="application/json"
    )

    assert response.status_code == status
    assert "error" in response.json() and not Visitor.objects.exists()


def test_the_pages_let_in_show_the_pass_and_let_out(resident, guard, settings) -> None:
    settings.VISITORS_CLOSE = ""
    client = client_for(guard)

    response = client.post(
        "/visitors/new",
        {"name": "Chidi Eze", "phone": "+234 802 000 1111", "host": str(resident.pk), "hours": 2},
    )
    visitor = Visitor.objects.get()
    assert response["Location"] == f"/visitors/{visitor.pk}/"
    page = client.get(f"/visitors/{visitor.pk}/")
    assert b"Visiting Ada Okafor, room B-214" in page.content and b"Valid today" in page.content
    assert b"1</span><span>visitors inside" in client.get("/").content

    client.post(f"/visitors/{visitor.pk}/check-out")

    assert b"No visitor inside." in client.get("/visitors/").content


def test_visitors_still_inside_after_closing_are_a_warning(resident, guard, settings) -> None:
    settings.VISITORS_CLOSE = "06:00" if timezone.localtime().hour >= 6 else "00:00"
    let_in(resident, guard)

    assert b"Visiting hours are over" in client_for(guard).get("/").content
    assert b"still inside" in client_for(guard).get("/visitors/").content


# --- the day pass at the gate ---------------------------------------------------------------


def scan_pass(client, token: str):
    return client.post(
        "/api/scan", {"mode": "qr", "token": token, "gate": "main"}, content_type="application/json"
    )


def test_the_gate_reads_a_day_pass_and_lets_the_visitor_out(resident, guard, settings) -> None:
    settings.SCAN_DEBOUNCE_SECONDS = 0
    visitor = let_in(resident, guard)
    client = client_for(guard)

    answer = scan_pass(client, passes.visitor_pass_token(visitor.pk, timezone.localdate()))
    again = scan_pass(client, passes.visitor_pass_token(visitor.pk, timezone.localdate()))

    body = answer.json()
    assert answer.status_code == 201, body
    assert (body["event"]["status"], body["event"]["name"]) == ("OUT", "Chidi Eze")
    assert "Visitor of Ada Okafor (room B-214): let out." in body["notes"][0]["message"]
    visitor.refresh_from_db()
    assert visitor.checked_out_at is not None and not visitor.inside
    out = Block.objects.get(type="visitor_out")
    assert (out.index, out.payload["gate"], out.payload["mode"]) == (
        body["block"]["index"], "main", "qr",
    )  # fmt: skip
    assert again.status_code == 409 and again.json()["error"]["code"] == "checked_out"
    assert "was checked out at" in again.json()["error"]["message"]
    resident.refresh_from_db()
    assert resident.status is None  # the host's own status is not touched


def test_a_day_pass_read_as_the_visitor_comes_in_does_not_let_them_out(resident, guard) -> None:
    visitor = let_in(resident, guard)  # SCAN_DEBOUNCE_SECONDS: 10

    answer = scan_pass(
        client_for(guard), passes.visitor_pass_token(visitor.pk, timezone.localdate())
    )

    assert answer.status_code == 409 and answer.json()["error"]["code"] == "duplicate_scan"
    visitor.refresh_from_db()
    assert visitor.inside and not Block.objects.filter(type="visitor_out").exists()


def test_a_visitor_who_stayed_past_midnight_is_let_out_with_a_warning(
    resident, guard, settings
) -> None:
    settings.SCAN_DEBOUNCE_SECONDS = 0
    visitor = let_in(resident, guard)
    yesterday = timezone.localdate() - timedelta(days=1)

    answer = scan_pass(client_for(guard), passes.visitor_pass_token(visitor.pk, yesterday))

    assert answer.status_code == 201, answer.json()
    assert "they stayed past midnight" in answer.json()["notes"][1]["message"]
    visitor.refresh_from_db()
    assert not visitor.inside


def test_an_entry_only_gate_does_not_let_a_visitor_out(resident, guard, settings) -> None:
    settings.SCAN_DEBOUNCE_SECONDS = 0
    Gate.objects.create(slug="in-only", name="Front door", mode=Gate.Mode.ENTRY)
    visitor = let_in(resident, guard)
    token = passes.visitor_pass_token(visitor.pk, timezone.localdate())

    answer = client_for(guard).post(
        "/api/scan",
        {"mode": "qr", "token": token, "gate": "in-only"},
        content_type="application/json",
    )

    assert answer.status_code == 409 and answer.json()["error"]["code"] == "anti_passback"
    visitor.refresh_from_db()
    assert visitor.inside and not Block.objects.filter(type="visitor_out").exists()


def test_a_retried_day_pass_scan_gets_its_first_answer(resident, guard, settings) -> None:
    settings.SCAN_DEBOUNCE_SECONDS = 0
    visitor = let_in(resident, guard)
    body = {
        "mode": "qr",
        "token": passes.visitor_pass_token(visitor.pk, timezone.localdate()),
        "gate": "main",
        "scan_id": "6f1c2a52-0d7e-4f8e-9a55-0d4f4c1b2a10",
    }
    client = client_for(guard)

    first = client.post("/api/scan", body, content_type="application/json")
    retry = client.post("/api/scan", body, content_type="application/json")
    other = client.post(
        "/api/scan", {**body, "scan_id": "0b0e5a0e-8a77-4a31-9f2a-9d3c1f0e6b11"},
        content_type="application/json",
    )  # fmt: skip

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json()["replayed"] is True
    assert retry.json()["block"] == first.json()["block"]
    assert other.status_code == 409 and other.json()["error"]["code"] == "checked_out"
    assert Block.objects.filter(type="visitor_out").count() == 1


def test_a_resident_pass_is_still_a_resident_pass(resident, guard) -> None:
    from residents import passes as resident_passes

    token = resident_passes.pass_token(resident.pk, resident.pass_version)

    answer = scan_pass(client_for(guard), token)

    assert answer.status_code == 201 and answer.json()["event"]["resident_name"] == "Ada Okafor"
