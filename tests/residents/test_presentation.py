"""What staff read on the pages: times in the site's time zone, named, with a space."""

from datetime import datetime

import pytest
from django.test import Client
from django.utils import timezone

from ledger.models import Block
from residents import scans
from residents.models import Gate


@pytest.fixture
def scanned(resident, warden):
    scans.scan_record(
        by=warden, gate=Gate.objects.get(slug="main"), mode="manual", resident_id=resident.pk
    )
    return Block.objects.filter(type="scan").get()


def test_times_show_in_the_sites_zone_with_its_name(scanned, resident, warden, settings):
    settings.TIME_ZONE = "Asia/Kolkata"
    client = Client()
    client.force_login(warden)
    at = timezone.localtime(datetime.fromisoformat(scanned.timestamp))
    shown = at.strftime("%Y-%m-%d %H:%M:%S") + " IST"

    for page in ("/ledger/", f"/residents/{resident.pk}/", f"/ledger/{scanned.index}"):
        html = client.get(page).content.decode()
        assert shown in html, page
        assert "UTC" not in html.replace(scanned.timestamp, ""), page  # no UTC label left
    assert at.strftime("%H:%M:%S IST") in client.get("/").content.decode()  # latest scans


def test_only_administrators_see_the_cron_hint(guard, superuser) -> None:
    def dashboard(user) -> str:
        client = Client()
        client.force_login(user)
        return client.get("/").content.decode()

    assert "Never verified yet." in dashboard(guard)
    assert "verify_chain" not in dashboard(guard)
    assert "verify_chain" in dashboard(superuser)


def test_a_ledger_filter_that_cannot_apply_says_so(warden) -> None:
    client = Client()
    client.force_login(warden)

    html = client.get("/ledger/?gate=Main gate&mode=qr").content.decode()

    assert "Not applied, so not filtered by:" in html
    assert 'id="id_gate_error"' in html and "Gate: " in html  # what aria-describedby names
    assert 'aria-label="Event"' in html and 'aria-label="Mode"' in html
    assert "Not applied" not in client.get("/ledger/?mode=qr").content.decode()
