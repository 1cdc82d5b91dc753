"""Bulk work at the start and end of a term: a sheet of passes to print, moving many out."""

import re

import pytest

from ledger.models import Block
from residents import services
from residents.models import Resident
from tests.residents.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def floor_3(warden) -> list[Resident]:
    return [
        services.resident_register(by=warden, name=f"Resident {n}", room=f"C-3{n:02}", floor=3)
        for n in range(10)
    ]


def test_the_pass_sheet_prints_eight_to_a_page_of_the_filtered_residents(
    floor_3, resident, guard
) -> None:
    page = client_for(guard).get("/residents/passes?floor=3").content.decode()

    assert page.count('class="sheet-page"') == 2  # 10 passes: 8 and 2
    assert page.count('class="sheet-card"') == 10
    assert "Ada Okafor" not in page  # floor 2
    assert len(set(re.findall(r"/residents/([0-9a-f-]{36})/qr.png", page))) == 10


def test_moving_a_floor_out_needs_the_list_checked_then_moves_each_out(
    floor_3, resident, warden
) -> None:
    client = client_for(warden)
    listed = client.get("/residents/move-out?floor=3")
    assert b"Move 10 residents out" in listed.content

    unchecked = client.post("/residents/move-out?floor=3", {"count": 10})
    assert unchecked.status_code == 200 and not Block.objects.filter(type="deactivate").exists()

    done = client.post("/residents/move-out?floor=3", {"count": 10, "checked": "on"}, follow=True)

    assert b"10 residents moved out." in done.content
    assert Resident.objects.filter(floor=3, is_active=True).count() == 0
    assert Resident.objects.get(pk=resident.pk).is_active  # floor 2 stays
    assert Block.objects.filter(type="deactivate").count() == 10


def test_a_list_that_changed_since_it_was_shown_moves_nobody(floor_3, warden) -> None:
    client = client_for(warden)
    services.resident_register(by=warden, name="Late arrival", room="C-399", floor=3)

    answer = client.post("/residents/move-out?floor=3", {"count": 10, "checked": "on"}, follow=True)

    assert b"The list changed since it was shown" in answer.content
    assert Resident.objects.filter(is_active=False).count() == 0


def test_one_refused_move_out_stops_nobody_else(floor_3, warden) -> None:
    from datetime import date, timedelta

    Resident.objects.filter(pk=floor_3[0].pk).update(move_in_date=date.today() + timedelta(days=1))

    refused = services.residents_move_out(residents=floor_3, by=warden)

    assert [r.pk for r, _ in refused] == [floor_3[0].pk]
    assert Resident.objects.filter(floor=3, is_active=False).count() == 9
