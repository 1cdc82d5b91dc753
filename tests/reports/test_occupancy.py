"""Occupancy through the day over the last 30 days, counted back from who is inside now
through the ledger's passages; a chart, its numbers, CSV and the API."""

import csv
import io
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from reports import occupancy
from residents import services
from tests.reports.test_attendance import clock, passing
from tests.residents.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def days_ago_3(warden, guard, main_gate, settings):
    """In Kolkata (UTC+05:30), three days ago: Ama and Bo in at 08:15, Ama out at 10:15 and
    not back; Chen never scanned."""
    settings.TIME_ZONE, settings.CURFEW, settings.SCAN_DEBOUNCE_SECONDS = "Asia/Kolkata", "", 0
    day = timezone.localdate() - timedelta(days=3)
    with clock(day, 7):  # the ledger's clock never runs backwards: these come first
        ama = services.resident_register(by=warden, name="Ama Owusu", room="B-201")
        bo = services.resident_register(by=warden, name="Bo Lindqvist", room="B-202")
        services.resident_register(by=warden, name="Chen Wei", room="B-203")
    passing(ama, guard, main_gate, day, 8, 15)
    passing(bo, guard, main_gate, day, 8, 15)
    passing(ama, guard, main_gate, day, 10, 15)
    return day


def test_each_hour_counts_who_was_inside(days_ago_3) -> None:
    report = occupancy.occupancy()

    assert len(report.days) == 30 and report.days[-1].day == timezone.localdate()
    that_day = next(day for day in report.days if day.day == days_ago_3)
    assert that_day.hours[7:12] == [0, 0, 2, 2, 1]
    assert report.days[-2].hours == [1] * 24
    assert (report.inside, report.residents, report.peak) == (1, 3, 2)


def test_hours_still_to_come_are_not_counted(days_ago_3) -> None:
    today = occupancy.occupancy().days[-1].hours
    hour = timezone.localtime().hour

    assert today[: hour + 1] == [1] * (hour + 1)
    assert today[hour + 1 :] == [None] * (23 - hour)


def count_queries() -> tuple[int, occupancy.Occupancy]:
    with CaptureQueriesContext(connection) as captured:
        report = occupancy.occupancy()
    return len(captured), report


def test_it_costs_the_same_queries_however_many_passages(days_ago_3, guard, main_gate) -> None:
    from residents.models import Resident

    cache.clear()
    few, _ = count_queries()
    chen = Resident.objects.get(name="Chen Wei")
    for hour in range(12, 18):
        passing(chen, guard, main_gate, days_ago_3, hour)
    cache.clear()

    assert count_queries()[0] == few <= 6


def test_days_that_are_over_are_counted_once(days_ago_3) -> None:
    cold, first = count_queries()
    warm, second = count_queries()

    assert warm == cold - 1  # the days before today come from the cache
    assert second.days == first.days


def test_the_page_draws_a_row_a_day_and_a_cell_an_hour(days_ago_3, guard) -> None:
    client = client_for(guard)

    page = client.get("/reports/occupancy").content.decode()
    exported = client.get("/reports/occupancy?format=csv").content.decode()

    assert page.count("<rect ") == 30 * 24
    assert f"{days_ago_3:%a %d %b} 09:00: 2 inside" in page
    assert "Inside now: <strong>1</strong> of 3 residents" in page
    rows = list(csv.reader(io.StringIO(exported)))
    assert len(rows) == 31 and rows[0][1] == "00:00"
    assert next(r for r in rows if r[0] == days_ago_3.isoformat())[8:13] == list("00221")


def test_the_api_gives_the_same_hours(days_ago_3, guard) -> None:
    body = client_for(guard).get("/api/reports/occupancy").json()

    that_day = next(day for day in body["days"] if day["date"] == days_ago_3.isoformat())
    assert that_day["hours"][7:12] == [0, 0, 2, 2, 1]
    assert (body["inside"], body["residents"]) == (1, 3)


def test_a_first_exit_or_a_first_mark_as_out_counts_nobody_inside_before(
    days_ago_3, warden, guard, main_gate
) -> None:
    """Found in a tryout: marking a never-scanned resident out showed one person inside at
    every hour of the 30 days, before anyone lived here."""
    from residents.models import Gate, Resident

    exit_only = Gate.objects.create(slug="out", name="Way out", mode=Gate.Mode.EXIT)
    chen = Resident.objects.get(name="Chen Wei")
    dara = services.resident_register(by=warden, name="Dara Novak", room="B-204")
    services.resident_status_set(resident=chen, by=warden, status="OUT")
    passing(dara, guard, exit_only, timezone.localdate(), timezone.localtime().hour)

    report = occupancy.occupancy()

    that_day = next(day for day in report.days if day.day == days_ago_3)
    assert that_day.hours[7:12] == [0, 0, 2, 2, 1]
    assert report.days[0].hours == [0] * 24 and report.inside == 1
