"""Reports: a day's gate counted from the ledger, and the muster list of who is inside."""

import csv
import io

import pytest
from django.utils import timezone

from reports import selectors
from residents import scans
from residents import services as resident_services
from tests.residents.conftest import client_for
from visitors import services as visitor_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def day(resident, warden, guard, main_gate, settings):
    """Ada in and out by scan, Bo marked in by staff on floor 3, one visitor, one denial."""
    settings.CURFEW, settings.SCAN_DEBOUNCE_SECONDS = "", 0
    scans.scan_record(by=guard, gate=main_gate, mode="manual", resident_id=resident.pk)
    scans.scan_record(by=guard, gate=main_gate, mode="manual", resident_id=resident.pk)
    scans.scan_record(by=guard, gate=main_gate, mode="manual", resident_id=resident.pk)
    bo = resident_services.resident_register(by=warden, name="Bo Lindqvist", room="C-301", floor=3)
    resident_services.resident_status_set(resident=bo, by=warden, status="IN")
    visitor_services.visitor_check_in(
        name="Chidi Eze", phone="+234 802 000 1111", host=bo, hours=1, photo=None, by=guard
    )
    with pytest.raises(Exception):  # noqa: B017 (any refusal: a denied attempt)
        scans.scan_record(by=guard, gate=main_gate, mode="qr", token="not-a-pass")
    return bo


def test_the_day_report_counts_the_gate_from_the_ledger(day) -> None:
    report = selectors.day_report(timezone.localdate())

    assert (report.entries, report.exits, report.denied, report.visitors) == (2, 1, 1, 1)
    assert (report.late_returns, report.curfew_breaches) == (0, 0)


def test_the_day_report_on_the_page_the_api_and_in_csv(day, guard) -> None:
    client = client_for(guard)
    today = timezone.localdate().isoformat()

    page = client.get("/reports/daily")
    api = client.get(f"/api/reports/daily?date={today}").json()
    rows = list(csv.reader(io.StringIO(client.get("/reports/daily?format=csv").content.decode())))
    bad = client.get("/reports/daily?date=yesterday")
    bad_api = client.get("/api/reports/daily?date=yesterday")

    assert b'<span class="num">2</span><span>entries</span>' in page.content
    assert api == {"date": today, "entries": 2, "exits": 1, "late_returns": 0,
                   "curfew_breaches": 0, "denied": 1, "visitors": 1}  # fmt: skip
    assert rows[0][:3] == ["date", "entries", "exits"] and rows[1][1:3] == ["2", "1"]
    assert b"is not a date" in bad.content
    assert bad_api.status_code == 400 and "date" in bad_api.json()["error"]["fields"]


FULL_WIDTH_2026 = "\uff12\uff10\uff12\uff16"


@pytest.mark.parametrize(
    "asked", ["0001-01-01", "9999-12-31", "1969-12-31", f"{FULL_WIDTH_2026}-01-01"]
)
def test_days_out_of_reach_are_refused_clearly_not_with_a_500(warden, asked) -> None:
    """Found: year 1 and 9999 overflowed the day's bounds (500 on the page, the CSV and an
    HTML 500 from the API)."""
    client = client_for(warden)

    page = client.get("/reports/daily", {"date": asked})
    exported = client.get("/reports/daily", {"date": asked, "format": "csv"})
    api = client.get("/api/reports/daily", {"date": asked})

    assert page.status_code == 200 and "today shown" in page.content.decode()
    assert exported.status_code == 200
    assert api.status_code == 400 and api.json()["error"]["code"] == "invalid"


def test_the_muster_lists_who_is_inside_by_floor_with_visitors(day, resident, guard) -> None:
    muster = selectors.muster()

    assert [(f.floor, [r.name for r in f.residents]) for f in muster.floors] == [
        (2, ["Ada Okafor"]),
        (3, ["Bo Lindqvist"]),
    ]
    assert [v.name for v in muster.visitors] == ["Chidi Eze"]
    api = client_for(guard).get("/api/reports/muster").json()
    assert api["count"] == 2 and [f["floor"] for f in api["floors"]] == [2, 3]
    page = client_for(guard).get("/reports/muster")
    assert b"Floor 3 (1)" in page.content and b"Visitors (1)" in page.content
    lines = client_for(guard).get("/reports/muster?format=csv").getvalue().decode().splitlines()
    assert lines[0] == "floor,room,name,phone,in_since,kind" and len(lines) == 4


def test_the_muster_says_how_many_were_never_scanned_and_lists_them(day, warden, guard) -> None:
    """Found in a tryout: after importing 2,000 residents the muster list showed the 12
    scanned inside and never said that 2,000 more could be anywhere."""
    resident_services.resident_register(by=warden, name="Chen Wei", room="C-302", floor=3)
    client = client_for(guard)

    page = client.get("/reports/muster").content.decode()
    listed = client.get("/residents/?status=none").content.decode()
    api = client.get("/api/reports/muster").json()

    assert "1 resident living here has never been scanned:" in page
    assert 'href="/residents/?status=none"' in page
    assert "Chen Wei" in listed and "Bo Lindqvist" not in listed
    assert api["never_scanned"] == 1


def test_the_muster_reads_in_a_constant_number_of_queries(
    day, warden, guard, django_assert_max_num_queries
) -> None:
    for n in range(20):
        extra = resident_services.resident_register(by=warden, name=f"R {n}", room=f"D-{n}")
        resident_services.resident_status_set(resident=extra, by=warden, status="IN")
    client = client_for(guard)

    with django_assert_max_num_queries(8):
        assert client.get("/reports/muster").status_code == 200
