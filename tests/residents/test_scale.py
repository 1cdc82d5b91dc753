"""What keeps the pages fast with 100k residents and 1M blocks (bench/scale.py measures it):
query counts that do not grow with the data, counts that stop at a cap, and on PostgreSQL
the indexes that the filters and the search need."""

import itertools
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leaves import services as leave_services
from ledger import selectors as ledger_selectors
from ledger.services import block_append, block_append_many
from residents import passes, scans, services
from residents.models import Gate, ScanMode
from tests.conftest import as_owner
from visitors import services as visitor_services

NUMBERS = itertools.count(1)


@pytest.fixture
def staff(client, warden):
    client.force_login(warden)
    return client


def grow(warden, count: int, *, daily_life: bool = False) -> None:
    """``count`` more residents, each registered and scanned at both gates; with
    ``daily_life`` each also asks for leave and has a visitor."""
    side, _ = Gate.objects.get_or_create(slug="side", defaults={"name": "Side door"})
    main = Gate.objects.get(slug="main")
    for _ in range(count):
        resident = services.resident_register(
            by=warden, name=f"Resident {next(NUMBERS)}", room="A-1"
        )
        token = passes.pass_token(resident.pk, resident.pass_version)
        scans.scan_record(by=warden, gate=main, mode=ScanMode.QR, token=token)
        scans.scan_record(by=warden, gate=side, mode=ScanMode.MANUAL, resident_id=resident.pk)
        if not daily_life:
            continue
        now = timezone.now()
        leave_services.leave_request(
            resident=resident, by=warden, kind="home", destination="Home",
            starts=now + timedelta(days=1), ends=now + timedelta(days=2),
        )  # fmt: skip
        visitor_services.visitor_check_in(
            name="A visitor", phone="+44 7700 900123", host=resident, hours=1, photo=None,
            by=warden,
        )  # fmt: skip


def query_count(client, url: str) -> int:
    """The queries ``url`` makes with an empty cache: the most it can cost."""
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        assert response.status_code == 200, url
        if response.streaming:
            b"".join(response.streaming_content)
    return len(captured)


PAGES = [
    "/",
    "/residents/",
    "/residents/?q=Resident",
    "/residents/?q=A-1",
    "/ledger/",
    "/ledger/?type=scan",
    "/ledger/?mode=qr",
    "/ledger/?gate=side",
    "/ledger/?gate=side&mode=manual",
    "/ledger/?since=2020-01-01&until=2099-12-31",
    "/ledger/?page=2",
    "/ledger/export.csv?mode=qr",
    "/api/residents",
    "/api/residents?q=Resident",
    "/api/ledger",
    "/api/ledger?gate=side",
    "/api/occupancy",
    "/leaves/",
    "/leaves/?show=late",
    "/visitors/",
    "/reports/daily",
    "/reports/daily?format=csv",
    "/reports/muster",
    "/reports/muster?format=csv",
    "/reports/occupancy",
    "/api/leaves",
    "/api/visitors",
    "/api/reports/daily",
    "/api/reports/muster",
    "/api/reports/occupancy",
]


def test_no_page_makes_more_queries_as_the_data_grows(staff, warden, settings) -> None:
    settings.SCAN_DEBOUNCE_SECONDS = 0
    grow(warden, 3, daily_life=True)
    few = {url: query_count(staff, url) for url in PAGES}
    grow(warden, 30, daily_life=True)
    many = {url: query_count(staff, url) for url in PAGES}

    assert many == few


def test_a_filtered_ledger_counts_up_to_a_cap(staff, warden, settings, monkeypatch) -> None:
    settings.SCAN_DEBOUNCE_SECONDS = 0
    monkeypatch.setattr(ledger_selectors, "COUNT_CAP", 5)
    grow(warden, 4)  # 4 registrations and 8 scans, 4 of them at the side gate

    capped = staff.get("/ledger/?type=scan").content.decode()
    exact = staff.get("/ledger/?gate=side").content.decode()
    whole = staff.get("/ledger/").content.decode()
    api_capped = staff.get("/api/ledger?type=scan").json()
    api_whole = staff.get("/api/ledger").json()

    assert "More than 5 events match (counting stops there), newest first." in capped
    assert "4 events, newest first." in exact
    # The whole chain is counted by its head row, exactly, whatever the cap.
    assert "13 events, newest first." in whole  # genesis, 4 registrations, 8 scans
    assert (api_capped["count"], api_capped["count_exact"]) == (5, False)
    assert len(api_capped["results"]) == 8 and api_capped["next"] is None  # 25 a page
    assert (api_whole["count"], api_whole["count_exact"]) == (13, True)


def test_a_capped_list_still_pages_to_its_end(staff, warden, settings, monkeypatch) -> None:
    settings.SCAN_DEBOUNCE_SECONDS = 0
    monkeypatch.setattr(ledger_selectors, "COUNT_CAP", 5)
    grow(warden, 4)  # 8 scans; 5 counted, in pages of 2

    seen, url = [], "/api/ledger?type=scan&page_size=2"
    while url:
        page = staff.get(url).json()
        seen += [block["index"] for block in page["results"]]
        url = page["next"]

    assert len(seen) == 8 == len(set(seen))
    assert seen == sorted(seen, reverse=True)
    assert staff.get("/api/ledger?type=scan&page_size=2&page=5").status_code == 404
    far = staff.get("/ledger/?type=scan&page=999")
    assert far.status_code == 200
    assert "More than 5 events match" in far.content.decode()
    assert len(far.context["entries"]) == 8  # 50 a page: the only page


def plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def analyze() -> None:
    with as_owner(), connection.cursor() as cursor:
        cursor.execute("ANALYZE")


@pytest.mark.postgres_only
def test_the_ledger_field_filters_use_the_gin_index(db) -> None:
    someone = "6f1c2b7e-1f0a-4c1e-9d3a-0b8f9c7e5a11"

    def scan(gate: str) -> tuple[dict[str, str], str]:
        return {"type": "scan", "resident_id": someone, "gate": gate, "mode": "qr"}, someone

    block_append_many(items=[scan("main") for _ in range(5000)] + [scan("side")] * 3)
    analyze()

    side = ledger_selectors.ledger_list(fields={"gate": "side"})
    assert "ledger_block_data_gin" in plan(side)
    assert side.count() == 3


def test_the_api_renders_what_orjson_cannot(staff) -> None:
    # An integer past 64 bits in a block (the ledger stores any JSON): orjson refuses it,
    # DRF's renderer takes over; the evidence is shown, not a 500.
    block_append(data={"type": "note", "n": 2**70})

    page = staff.get("/api/ledger")
    pretty = staff.get("/api/ledger", HTTP_ACCEPT="application/json; indent=2")

    assert page.status_code == 200
    assert page.json()["results"][0]["data"]["n"] == 2**70
    assert pretty.status_code == 200 and b'\n  "count": 2' in pretty.content
