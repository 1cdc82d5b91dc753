"""Leave over the API and on the pages: wardens ask and decide, guards read, residents ask
through the link on their pass."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from leaves import links
from leaves.models import Leave
from ledger.models import Block
from residents import services as resident_services
from tests.residents.conftest import client_for

pytestmark = pytest.mark.django_db


def body(**overrides) -> dict:
    now = timezone.now()
    data = {
        "kind": "weekend",
        "starts": (now + timedelta(hours=2)).isoformat(),
        "ends": (now + timedelta(days=2)).isoformat(),
        "destination": "Ibadan",
    }
    return {**data, **overrides}


def test_a_warden_asks_over_the_api_and_gets_the_leave(resident, warden) -> None:
    response = client_for(warden).post(
        "/api/leaves", body(resident_id=str(resident.pk)), content_type="application/json"
    )

    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["status"] == "requested" and answer["resident_id"] == str(resident.pk)
    assert answer["requested_by"] == "wendy" and answer["late"] is False
    assert Leave.objects.get(pk=answer["id"]).destination == "Ibadan"


def test_a_warden_approves_and_refuses_over_the_api(resident, warden) -> None:
    client = client_for(warden)
    first = client.post(
        "/api/leaves", body(resident_id=str(resident.pk)), content_type="application/json"
    ).json()

    approved = client.post(
        f"/api/leaves/{first['id']}/approve", {"note": "ok"}, content_type="application/json"
    )
    again = client.post(f"/api/leaves/{first['id']}/refuse", {}, content_type="application/json")

    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert again.status_code == 409 and again.json()["error"]["code"] == "decided"


def test_a_guard_reads_leave_but_cannot_ask_or_decide(resident, warden, guard) -> None:
    leave_id = (
        client_for(warden)
        .post("/api/leaves", body(resident_id=str(resident.pk)), content_type="application/json")
        .json()["id"]
    )
    client = client_for(guard)

    listed = client.get("/api/leaves?show=pending")
    asked = client.post(
        "/api/leaves", body(resident_id=str(resident.pk)), content_type="application/json"
    )
    decided = client.post(f"/api/leaves/{leave_id}/approve", {}, content_type="application/json")

    assert listed.status_code == 200 and [x["id"] for x in listed.json()["results"]] == [leave_id]
    assert asked.status_code == 403 and decided.status_code == 403
    assert Leave.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"starts": "tomorrow"}, "invalid", "starts"),
        ({"kind": "holiday"}, "invalid", "kind"),
        ({"destination": 42}, "invalid", "destination"),
        ({"resident_id": "not-a-uuid"}, "invalid", "resident_id"),
        ({"destination": "x" * 201}, "invalid", "destination"),
    ],
)
def test_hostile_input_is_a_clear_error_and_writes_nothing(
    resident, warden, change, code, field
) -> None:
    response = client_for(warden).post(
        "/api/leaves",
        body(**{"resident_id": str(resident.pk), **change}),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert field in response.json()["error"]["fields"]
    assert Leave.objects.count() == 0


def test_a_leave_ending_before_it_starts_is_refused_with_the_reason(resident, warden) -> None:
    now = timezone.now()
    response = client_for(warden).post(
        "/api/leaves",
        body(
            resident_id=str(resident.pk),
            starts=(now + timedelta(days=2)).isoformat(),
            ends=(now + timedelta(days=1)).isoformat(),
        ),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The leave must end after it starts."
    assert not Block.objects.filter(type="leave_request").exists()


def test_an_unknown_resident_or_leave_is_a_404(warden) -> None:
    client = client_for(warden)
    unknown = "00000000-0000-0000-0000-000000000000"

    asked = client.post("/api/leaves", body(resident_id=unknown), content_type="application/json")
    decided = client.post(f"/api/leaves/{unknown}/approve", {}, content_type="application/json")

    assert asked.status_code == 404 and decided.status_code == 404


def test_the_warden_pages_ask_and_approve(resident, warden) -> None:
    client = client_for(warden)
    now = timezone.localtime()
    response = client.post(
        reverse("leaves:new", args=[resident.pk]),
        {
            "kind": "home",
            "starts": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "ends": (now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
            "destination": "Home, Kano",
        },
    )
    leave = Leave.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/leaves/{leave.pk}/"

    page = client.get(f"/leaves/{leave.pk}/")
    assert b"Approve" in page.content and b"Home, Kano" in page.content
    client.post(f"/leaves/{leave.pk}/approve", {"note": ""})

    leave.refresh_from_db()
    assert leave.status == "approved"
    listed = client.get("/leaves/?show=current")
    assert b"Ada Okafor" in listed.content
    assert b"Ada Okafor" not in client.get("/leaves/?show=pending").content
    assert b"Request leave" in client.get(f"/residents/{resident.pk}/").content


def test_a_guard_sees_the_lists_but_no_decision_buttons(resident, warden, guard) -> None:
    client_for(warden).post(
        "/api/leaves", body(resident_id=str(resident.pk)), content_type="application/json"
    )
    leave = Leave.objects.get()
    client = client_for(guard)

    page = client.get(f"/leaves/{leave.pk}/")

    assert page.status_code == 200 and b"Approve" not in page.content
    assert client.post(f"/leaves/{leave.pk}/approve").status_code == 403
    assert b"Request leave" not in client.get(f"/residents/{resident.pk}/").content


def test_the_resident_asks_through_the_link_on_their_pass(resident, warden) -> None:
    pass_page = client_for(warden).get(f"/residents/{resident.pk}/pass")
    link = f"/leave/{links.leave_link_token(resident)}"
    assert link.encode() in pass_page.content
    now = timezone.localtime()
    anonymous = Client()

    page = anonymous.get(link)
    sent = anonymous.post(
        link,
        {
            "kind": "overnight",
            "starts": (now + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
            "ends": (now + timedelta(hours=20)).strftime("%Y-%m-%dT%H:%M"),
            "destination": "My aunt's, Ikeja",
        },
        follow=True,
    )

    assert page.status_code == 200 and b"Ask for leave, Ada Okafor" in page.content
    assert b"Asked: the warden will approve or refuse it." in sent.content
    leave = Leave.objects.get()
    assert leave.requested_by is None and leave.status == "requested"
    [block] = [b.payload for b in Block.objects.filter(type="leave_request")]
    assert block["by"] == "resident (pass link)"


def test_a_reissued_pass_ends_the_old_link(resident, warden) -> None:
    link = f"/leave/{links.leave_link_token(resident)}"
    resident_services.pass_reissue(resident=resident, by=warden)

    response = Client().get(link)

    assert response.status_code == 404
    assert b"ask the warden for your current pass" in response.content


@pytest.mark.parametrize("token", ["x", "eyJyIjoiMSJ9:abc:def", "a" * 300])
def test_a_made_up_link_is_a_friendly_404(db, token) -> None:
    response = Client().get(f"/leave/{token}")

    assert response.status_code == 404
    assert b"This link does not work" in response.content


def test_asking_through_the_link_is_rate_limited(resident, settings) -> None:
    settings.THROTTLE_LEAVE_LINK = "3/hour"
    cache.clear()
    link = f"/leave/{links.leave_link_token(resident)}"
    client = Client()

    answers = [client.post(link, {"kind": "home"}).status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]  # the form's errors, then too many
    assert Leave.objects.count() == 0


# Found in review of the first version.


def test_a_far_future_date_with_an_offset_is_an_error_not_a_500(resident) -> None:
    link = f"/leave/{links.leave_link_token(resident)}"

    response = Client().post(
        link,
        {
            "kind": "home",
            "starts": "9999-12-31T10:00-12:00",
            "ends": "9999-12-31T23:59-12:00",
            "destination": "Far",
        },
    )

    assert response.status_code == 200
    assert Leave.objects.count() == 0


@pytest.mark.parametrize(
    ("starts", "ends", "message"),
    [
        ("9999-12-31T10:00:00-12:00", "9999-12-31T23:59:00-12:00", None),
        ("2027-01-01T10:00", "2027-01-02T10:00", "with its offset"),
    ],
)
def test_the_api_refuses_impossible_or_offsetless_times(
    resident, warden, starts, ends, message
) -> None:
    response = client_for(warden).post(
        "/api/leaves",
        body(resident_id=str(resident.pk), starts=starts, ends=ends),
        content_type="application/json",
    )

    assert response.status_code == 400, response.content
    if message:
        assert message in response.json()["error"]["message"]
    assert Leave.objects.count() == 0


def test_a_guard_does_not_see_the_leave_link_on_the_pass(resident, guard, warden) -> None:
    token = links.leave_link_token(resident)

    assert token.encode() not in client_for(guard).get(f"/residents/{resident.pk}/pass").content
    assert token.encode() in client_for(warden).get(f"/residents/{resident.pk}/pass").content
    assert links.leave_link_token(resident) == token  # one link per pass, not a new one a view


def test_the_public_page_does_not_show_the_warden_s_note(resident, warden) -> None:
    from leaves import services

    leave = services.leave_request(
        resident=resident,
        by=warden,
        kind="home",
        starts=timezone.now() + timedelta(hours=1),
        ends=timezone.now() + timedelta(days=1),
        destination="Home",
    )
    services.leave_refuse(leave=leave, by=warden, note="Exams on Monday, see me")

    page = Client().get(f"/leave/{links.leave_link_token(resident)}")

    assert b"Refused" in page.content and b"Exams on Monday" not in page.content


def test_the_late_list_reads_in_a_constant_number_of_queries(
    resident, warden, django_assert_max_num_queries
) -> None:
    """Six late leaves, each asked for and decided by a warden: with a query per leave for
    who asked and who decided, the page took 12 and more."""
    from leaves import services
    from residents import services as resident_services

    now = timezone.now()
    for n in range(6):
        someone = resident_services.resident_register(by=warden, name=f"R {n}", room=f"E-{n}")
        leave = services.leave_request(
            resident=someone, by=warden, kind="home", destination="Home",
            starts=now + timedelta(hours=1), ends=now + timedelta(days=1),
        )  # fmt: skip
        services.leave_approve(leave=leave, by=warden)
    Leave.objects.update(  # left two hours ago on a leave that ended a minute ago; back now
        starts=now - timedelta(hours=3),
        left_at=now - timedelta(hours=2),
        ends=now - timedelta(minutes=1),
        returned_at=now,
    )
    client = client_for(warden)
    with django_assert_max_num_queries(12):
        answer = client.get("/api/leaves?show=late")
    assert answer.status_code == 200 and answer.json()["count"] == 6
