"""Every staff page, the admin and the API docs in Chromium at a phone's and a desktop's size:
each loads its scripts without an error and without breaking its Content-Security-Policy
(the autouse fixture in conftest fails a test on any violation)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page

from leaves import links
from leaves import services as leave_services
from leaves.models import Leave
from ledger.models import Block
from residents import scans, services
from residents.models import Gate, Resident
from tests.browser.conftest import screenshot
from tests.residents.conftest import PASSWORD, photo_bytes
from visitors import services as visitor_services
from visitors.models import Visitor

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def root(migration_data) -> User:
    return User.objects.create_superuser("root", "root@example.org", PASSWORD)


def leave_pages(resident_id: str) -> list[str]:
    """The leave pages, with a leave of the resident's to show (made the first time)."""
    resident = Resident.objects.get(pk=resident_id)
    leave = Leave.objects.filter(resident=resident).first()
    if leave is None:
        now = timezone.now()
        leave = leave_services.leave_request(
            resident=resident,
            by=User.objects.get(username="root"),
            kind="weekend",
            starts=now + timedelta(hours=1),
            ends=now + timedelta(days=2),
            destination="Abeokuta, with a name long enough to need wrapping on a phone's screen",
        )
    return [
        "/leaves/",
        "/leaves/?show=late",
        f"/leaves/new/{resident_id}",
        f"/leaves/{leave.pk}/",
        f"/leave/{links.leave_link_token(resident)}",
        "/admin/leaves/leave/",
    ]


def visitor_pages(resident_id: str) -> list[str]:
    """The visitor pages, with a visitor of the resident's inside (let in the first time)."""
    visitor = Visitor.objects.first() or visitor_services.visitor_check_in(
        name="Chidi Eze",
        phone="+234 802 000 1111",
        host=Resident.objects.get(pk=resident_id),
        hours=2,
        photo=None,
        by=User.objects.get(username="root"),
    )
    return [
        "/visitors/",
        "/visitors/new",
        f"/visitors/{visitor.pk}/",
        "/admin/visitors/visitor/",
        "/reports/daily",
        "/reports/muster",
        "/residents/passes",
        "/residents/move-out?floor=99",
        "/residents/import",
        "/reports/occupancy",
        f"/reports/attendance/{resident_id}",
    ]


def pages(resident_id: str, block: int) -> list[str]:
    return [
        *leave_pages(resident_id),
        *visitor_pages(resident_id),
        "/",
        "/residents/",
        "/residents/new",
        f"/residents/{resident_id}/",
        f"/residents/{resident_id}/edit",
        f"/residents/{resident_id}/move-out",
        f"/residents/{resident_id}/pass",
        "/scan/",
        "/ledger/",
        f"/ledger/{block}",
        "/admin/",
        "/admin/residents/resident/",
        f"/admin/residents/resident/{resident_id}/change/",
        "/admin/residents/gate/",
        "/admin/ledger/block/",
        f"/admin/ledger/block/{Block.objects.get(index=block).pk}/change/",
        "/admin/auth/user/",
        "/api/docs",
        "/password/",
        "/password/changed",
        "/password/reset/",
        "/password/reset/sent",
    ]


@pytest.mark.parametrize("size", [(390, 844), (1280, 800)], ids=["phone", "desktop"])
def test_every_page_loads_cleanly_under_its_policy(page: Page, root, size) -> None:
    from residents import uploads

    ada = services.resident_register(
        by=root, name="Ada Okafor", room="B-214", photos=[uploads.photo_enrol(photo_bytes())]
    )
    scan = scans.scan_record(
        by=root, gate=Gate.objects.get(slug="main"), mode="manual", resident_id=ada.pk
    )
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto("/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")

    for path in pages(str(ada.pk), scan.block.index):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        assert not overflow, f"{path} scrolls sideways at {size[0]} px"
        shots = {"/": "dashboard", "/ledger/": "ledger", f"/residents/{ada.pk}/": "resident"}
        shots["/password/"] = "password-change"
        leave = Leave.objects.get()
        shots[f"/leaves/{leave.pk}/"] = "leave"
        shots["/residents/passes"] = "pass-sheet"
        shots["/reports/muster"] = "muster"
        shots["/reports/occupancy"] = "occupancy"
        shots[f"/reports/attendance/{ada.pk}"] = "attendance"
        shots[f"/leave/{links.leave_link_token(ada)}"] = "leave-ask"
        if path in shots:
            screenshot(page, f"{shots[path]}-{size[0]}")

    screenshot(page, f"api-docs-{size[0]}")
    assert errors == []
