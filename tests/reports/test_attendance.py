"""A resident's month, replayed from the ledger: where they were each midnight, their hours
inside, late returns and exits after curfew; on a page, on paper, as CSV and over the API."""

import csv
import io
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leaves import services as leave_services
from reports import attendance
from residents import scans, services
from tests.residents.conftest import client_for

pytestmark = pytest.mark.django_db


@contextmanager
def clock(day: date, hour: int, minute: int = 0):
    """The site's clock at a local time (the ledger stamps blocks with it)."""
    moment = timezone.make_aware(datetime.combine(day, time(hour, minute)))
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def nov(day: int) -> date:
    return date(2026, 11, day)


def passing(resident, by, gate, day: date, hour: int, minute: int = 0) -> None:
    with clock(day, hour, minute):
        scans.scan_record(by=by, gate=gate, mode="manual", resident_id=resident.pk)


@pytest.fixture
def month(warden, guard, main_gate, settings):
    """Ama's November 2026 in Kolkata (UTC+05:30): in from October; out and in on the 2nd;
    a night out on the 3rd; an approved leave 5th to 7th, back two hours late; out after
    the 23:00 curfew on the 10th."""
    settings.TIME_ZONE, settings.CURFEW, settings.SCAN_DEBOUNCE_SECONDS = "Asia/Kolkata", "23:00", 0
    with clock(date(2026, 10, 20), 9):
        ama = services.resident_register(by=warden, name="Ama Owusu", room="B-201")
    passing(ama, guard, main_gate, date(2026, 10, 20), 10)
    passing(ama, guard, main_gate, nov(2), 8)
    passing(ama, guard, main_gate, nov(2), 20)
    passing(ama, guard, main_gate, nov(3), 18)
    passing(ama, guard, main_gate, nov(4), 12)
    with clock(nov(4), 13):
        leave = leave_services.leave_request(
            resident=ama, by=warden, kind="home", destination="Kumasi",
            starts=timezone.now() + timedelta(hours=21),  # the 5th, 10:00
            ends=timezone.now() + timedelta(hours=71),  # the 7th, 12:00
        )  # fmt: skip
        leave_services.leave_approve(leave=leave, by=warden)
    passing(ama, guard, main_gate, nov(5), 9)  # leaving on it
    passing(ama, guard, main_gate, nov(7), 14)  # back, late
    passing(ama, guard, main_gate, nov(10), 23, 30)  # out after curfew
    passing(ama, guard, main_gate, nov(11), 1)
    return ama


def test_a_month_is_replayed_night_by_night_from_the_ledger(month) -> None:
    report = attendance.attendance(month, nov(17))

    nights = {day.day.day: day.night for day in report.days}
    assert len(report.days) == 30
    assert [nights[n] for n in (1, 2, 3, 4, 5, 6, 7, 10, 11)] == [
        "in", "in", "out", "in", "leave", "leave", "in", "out", "in",
    ]  # fmt: skip
    counts = report.nights_in, report.nights_out, report.nights_on_leave
    assert counts == (26, 2, 2)
    assert (report.late_returns, report.curfew_breaches) == (1, 1)
    hours = {day.day.day: day.hours_inside for day in report.days}
    assert [hours[n] for n in (1, 2, 3, 4, 5, 6, 7)] == [24, 12, 18, 12, 9, 0, 10]
    second = report.days[1]
    assert (second.entries, second.exits) == (1, 1)
    assert timezone.localtime(second.first_in).hour == 20
    assert timezone.localtime(second.last_out).hour == 8


def test_days_before_the_first_scan_are_not_known(warden, guard, main_gate, settings) -> None:
    settings.SCAN_DEBOUNCE_SECONDS = 0
    with clock(date(2026, 10, 20), 9):
        bo = services.resident_register(by=warden, name="Bo Lindqvist", room="B-202")
    passing(bo, guard, main_gate, nov(2), 10)

    report = attendance.attendance(bo, nov(1))

    assert (report.days[0].night, report.days[0].hours_inside) == ("", None)
    assert (report.days[1].night, report.days[1].hours_inside) == ("in", 14)


def test_a_month_that_has_not_ended_stops_today(warden) -> None:
    ama = services.resident_register(by=warden, name="Ama Owusu", room="B-201")

    report = attendance.attendance(ama, timezone.localdate())

    assert report.days[-1].day == timezone.localdate()
    assert report.days[-1].night == "" and report.next is None


def test_the_month_costs_the_same_queries_however_busy(month, guard, main_gate) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            attendance.attendance(month, nov(1))
        return len(captured)

    few = queries()
    for hour in range(1, 23):
        passing(month, guard, main_gate, nov(20), hour)

    assert queries() == few <= 3


def test_the_page_shows_the_month_and_prints_and_exports_it(month, guard) -> None:
    client = client_for(guard)  # guards read reports too

    page = client.get(f"/reports/attendance/{month.pk}?month=2026-11").content.decode()
    exported = client.get(f"/reports/attendance/{month.pk}?month=2026-11&format=csv")

    assert "Ama Owusu</a>, B-201: November 2026" in page
    assert '<span class="num">26</span><span>nights in</span>' in page
    assert "On leave" in page and "late return" in page and "out after curfew" in page
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert len(rows) == 30
    assert (rows[4]["night"], rows[6]["late"], rows[1]["hours_inside"]) == ("leave", "1", "12.00")


def test_the_resident_page_links_to_it(month, guard) -> None:
    page = client_for(guard).get(f"/residents/{month.pk}/").content.decode()

    assert f'href="/reports/attendance/{month.pk}"' in page


@pytest.mark.parametrize("asked", ["2026-13", "november", "2999-01"])
def test_a_month_that_cannot_be_shown_says_so(month, warden, asked) -> None:
    page = client_for(warden).get(f"/reports/attendance/{month.pk}?month={asked}")

    assert page.status_code == 200
    assert "this month shown" in page.content.decode()


def test_the_api_gives_the_same_month(month, warden) -> None:
    client = client_for(warden)

    body = client.get(f"/api/reports/attendance/{month.pk}?month=2026-11").json()
    wrong = client.get(f"/api/reports/attendance/{month.pk}?month=2026-13")
    nobody = client.get("/api/reports/attendance/00000000-0000-0000-0000-000000000000")

    assert (body["nights_in"], body["nights_on_leave"], body["late_returns"]) == (26, 2, 1)
    assert body["days"][1]["hours_inside"] == 12 and body["days"][4]["night"] == "leave"
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "invalid"
    assert nobody.status_code == 404


def test_months_away_and_back_count_no_nights_while_not_living_here(
    warden, guard, main_gate, settings
) -> None:
    settings.SCAN_DEBOUNCE_SECONDS = 0
    with clock(date(2026, 8, 20), 9):
        ama = services.resident_register(by=warden, name="Ama Owusu", room="B-201")
    passing(ama, guard, main_gate, date(2026, 9, 1), 10)  # in
    with clock(date(2026, 9, 10), 12):
        services.resident_deactivate(resident=ama, by=warden)
    with clock(date(2026, 11, 1), 12):
        ama.refresh_from_db()
        services.resident_reactivate(resident=ama, by=warden)
    passing(ama, guard, main_gate, nov(3), 18)  # in again

    september = attendance.attendance(ama, date(2026, 9, 1))
    october = attendance.attendance(ama, date(2026, 10, 1))
    november = attendance.attendance(ama, nov(1))

    assert september.nights_in == 9 and september.days[9].hours_inside == 12
    assert september.days[9].night == "" and september.days[12].hours_inside is None
    assert (october.nights_in, october.nights_out) == (0, 0)
    assert {day.hours_inside for day in october.days} == {None}
    assert [day.night for day in november.days[:3]] == ["", "", "in"]
    assert november.days[0].hours_inside is None and november.days[2].hours_inside == 6


def test_daylight_saving_days_count_their_real_hours(warden, guard, main_gate, settings) -> None:
    settings.TIME_ZONE = "Europe/Berlin"
    with clock(date(2026, 3, 1), 9):
        ama = services.resident_register(by=warden, name="Ama Owusu", room="B-201")
    passing(ama, guard, main_gate, date(2026, 3, 1), 10)  # inside through the summer

    march = attendance.attendance(ama, date(2026, 3, 1))
    october = attendance.attendance(ama, date(2026, 10, 1))

    assert [day.hours_inside for day in march.days[27:30]] == [24, 23, 24]
    assert [day.hours_inside for day in october.days[23:26]] == [24, 25, 24]


@pytest.mark.parametrize("asked", ["0000-01", "0001-01", "9999-12", "١٩٩٩-01", "1969-12"])
def test_months_out_of_reach_are_refused_clearly(month, warden, asked) -> None:
    client = client_for(warden)

    page = client.get(f"/reports/attendance/{month.pk}", {"month": asked})
    api = client.get(f"/api/reports/attendance/{month.pk}", {"month": asked})

    assert page.status_code == 200 and "this month shown" in page.content.decode()
    assert api.status_code == 400 and api.json()["error"]["code"] == "invalid"
