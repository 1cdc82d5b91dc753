"""Every page and endpoint, as anonymous, guard, warden and superuser (DESIGN section 1)."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from leaves import links
from leaves import services as leave_services
from leaves.models import Leave
from residents.models import Resident
from visitors import services as visitor_services
from visitors.models import Visitor

ANON, GUARD, WARDEN, SUPER = "anonymous", "guard", "warden", "superuser"
LOGIN = "login"  # a redirect to the login page

# (method, path with {id}, expected per role): 'login' means a redirect to log in.
MATRIX = [
    ("get", "/", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/health", {ANON: 200, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/residents/", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/residents/new", {ANON: LOGIN, GUARD: 403, WARDEN: 200, SUPER: 200}),
    ("post", "/residents/new", {ANON: LOGIN, GUARD: 403, WARDEN: 302, SUPER: 302}),
    ("get", "/residents/{id}/", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/residents/{id}/edit", {ANON: LOGIN, GUARD: 403, WARDEN: 200, SUPER: 200}),
    ("post", "/residents/{id}/edit", {ANON: LOGIN, GUARD: 403, WARDEN: 302, SUPER: 302}),
    ("get", "/residents/{id}/move-out", {ANON: LOGIN, GUARD: 403, WARDEN: 200, SUPER: 200}),
    ("get", "/residents/{id}/photo", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    # Without a file: back to the resident's page, saying what is missing.
    ("post", "/residents/{id}/samples", {ANON: LOGIN, GUARD: 403, WARDEN: 302, SUPER: 302}),
    ("get", "/residents/{id}/samples/{sample}", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/residents/{id}/pass", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/residents/{id}/pass.png", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/residents/{id}/qr.png", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("post", "/residents/{id}/pass/reissue", {ANON: LOGIN, GUARD: 403, WARDEN: 302, SUPER: 302}),
    ("post", "/residents/{id}/move-out", {ANON: LOGIN, GUARD: 403, WARDEN: 302, SUPER: 302}),
    ("post", "/residents/{id}/move-back-in", {ANON: LOGIN, GUARD: 403, WARDEN: 302, SUPER: 302}),
    ("post", "/residents/{id}/status", {ANON: LOGIN, GUARD: 403, WARDEN: 302, SUPER: 302}),
    # No checkpoint yet: back to the resident's page with the reason.
    ("get", "/residents/{id}/receipt/{index}", {ANON: LOGIN, GUARD: 302, WARDEN: 302, SUPER: 302}),
    ("get", "/residents/out", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/residents/out?format=csv", {ANON: LOGIN, GUARD: 403, WARDEN: 200, SUPER: 200}),
    ("get", "/admin/", {ANON: 302, GUARD: 302, WARDEN: 302, SUPER: 200}),
    ("get", "/admin/residents/resident/", {ANON: 302, GUARD: 302, WARDEN: 302, SUPER: 200}),
    ("get", "/api/residents", {ANON: 401, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/api/residents/{id}", {ANON: 401, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("post", "/api/register", {ANON: 401, GUARD: 403, WARDEN: 201, SUPER: 201}),
    ("get", "/api/schema", {ANON: 401, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/api/docs", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/login/", {ANON: 200, GUARD: 302, WARDEN: 302, SUPER: 302}),
    ("post", "/logout/", {ANON: 302, GUARD: 302, WARDEN: 302, SUPER: 302}),
    ("get", "/password/", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/password/changed", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/password/reset/", {ANON: 200, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/password/reset/sent", {ANON: 200, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/password/reset/done", {ANON: 200, GUARD: 200, WARDEN: 200, SUPER: 200}),
    # A reset link that is not valid: a page saying so (Django redirects a valid one once).
    ("get", "/password/reset/{uid}/{token}", {ANON: 200, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/dashboard/latest", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/scan/", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/residents/{id}/voice", {ANON: LOGIN, GUARD: 404, WARDEN: 404, SUPER: 404}),
    ("get", "/ledger/", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/ledger/{index}", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/ledger/export.csv", {ANON: LOGIN, GUARD: 403, WARDEN: 200, SUPER: 200}),
    ("post", "/ledger/verify", {ANON: LOGIN, GUARD: 403, WARDEN: 302, SUPER: 302}),
    ("get", "/admin/ledger/block/", {ANON: 302, GUARD: 302, WARDEN: 302, SUPER: 200}),
    ("post", "/api/token", {ANON: 400, GUARD: 400, WARDEN: 400, SUPER: 400}),
    ("post", "/api/token/refresh", {ANON: 400, GUARD: 400, WARDEN: 400, SUPER: 400}),
    ("get", "/api/residents/{id}/photo", {ANON: 401, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("post", "/api/residents/{id}/samples", {ANON: 401, GUARD: 403, WARDEN: 400, SUPER: 400}),
    ("get", "/api/residents/{id}/pass.png", {ANON: 401, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("post", "/api/scan", {ANON: 401, GUARD: 400, WARDEN: 400, SUPER: 400}),
    ("get", "/api/scan/challenge", {ANON: 401, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/api/occupancy", {ANON: 401, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/api/ledger", {ANON: 401, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/api/ledger/verify", {ANON: 401, GUARD: 404, WARDEN: 404, SUPER: 404}),
    ("post", "/api/ledger/verify", {ANON: 401, GUARD: 403, WARDEN: 201, SUPER: 201}),
    ("get", "/api/ledger/{index}/proof", {ANON: 401, GUARD: 409, WARDEN: 409, SUPER: 409}),
    ("get", "/api/ledger/consistency", {ANON: 401, GUARD: 403, WARDEN: 400, SUPER: 400}),
    ("get", "/leaves/", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/leaves/new/{id}", {ANON: LOGIN, GUARD: 403, WARDEN: 200, SUPER: 200}),
    ("get", "/leaves/{leave}/", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    # Already refused (the fixture's leave): back to its page saying so.
    ("post", "/leaves/{leave}/approve", {ANON: LOGIN, GUARD: 403, WARDEN: 302, SUPER: 302}),
    ("post", "/leaves/{leave}/refuse", {ANON: LOGIN, GUARD: 403, WARDEN: 302, SUPER: 302}),
    # The resident's own page, from the link on their pass: no login, a valid link only.
    ("get", "/leave/{link}", {ANON: 200, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/api/leaves", {ANON: 401, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("post", "/api/leaves", {ANON: 401, GUARD: 403, WARDEN: 400, SUPER: 400}),
    ("get", "/api/leaves/{leave}", {ANON: 401, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("post", "/api/leaves/{leave}/approve", {ANON: 401, GUARD: 403, WARDEN: 409, SUPER: 409}),
    ("post", "/api/leaves/{leave}/refuse", {ANON: 401, GUARD: 403, WARDEN: 409, SUPER: 409}),
    ("get", "/residents/passes", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/residents/move-out", {ANON: LOGIN, GUARD: 403, WARDEN: 200, SUPER: 200}),
    # Without the list checked: the form again, saying so; nobody moved out.
    ("post", "/residents/move-out", {ANON: LOGIN, GUARD: 403, WARDEN: 200, SUPER: 200}),
    ("get", "/residents/import", {ANON: LOGIN, GUARD: 403, WARDEN: 200, SUPER: 200}),
    # Without a file: the form again, saying so.
    ("post", "/residents/import", {ANON: LOGIN, GUARD: 403, WARDEN: 200, SUPER: 200}),
    ("get", "/residents/import/residents.csv", {ANON: LOGIN, GUARD: 403, WARDEN: 200, SUPER: 200}),
    ("post", "/api/residents/import", {ANON: 401, GUARD: 403, WARDEN: 400, SUPER: 400}),
    ("get", "/reports/daily", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/reports/muster", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/reports/occupancy", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/reports/attendance/{id}", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/api/reports/occupancy", {ANON: 401, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/api/reports/attendance/{id}", {ANON: 401, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/api/reports/daily", {ANON: 401, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/api/reports/muster", {ANON: 401, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/visitors/", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/visitors/new", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/visitors/{visitor}/", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("get", "/visitors/{visitor}/qr.png", {ANON: LOGIN, GUARD: 200, WARDEN: 200, SUPER: 200}),
    # The fixture's visitor came without a photo.
    ("get", "/visitors/{visitor}/photo", {ANON: LOGIN, GUARD: 404, WARDEN: 404, SUPER: 404}),
    # Already out (the fixture's visitor left): back to the list saying so.
    ("post", "/visitors/{visitor}/check-out", {ANON: LOGIN, GUARD: 302, WARDEN: 302, SUPER: 302}),
    ("get", "/api/visitors", {ANON: 401, GUARD: 200, WARDEN: 200, SUPER: 200}),
    ("post", "/api/visitors", {ANON: 401, GUARD: 400, WARDEN: 400, SUPER: 400}),
    ("post", "/api/visitors/{visitor}/check-out", {ANON: 401, GUARD: 409, WARDEN: 409, SUPER: 409}),
]

FORM = {"name": "Bo Lindqvist", "room": "A-101"}


def visitor_gone(resident: Resident) -> Visitor:
    guard = User.objects.get(username="gary")
    visitor = visitor_services.visitor_check_in(
        name="Chidi Eze", phone="+234 802 000 1111", host=resident, hours=1, photo=None, by=guard
    )
    return visitor_services.visitor_check_out(visitor=visitor, by=guard)


def refused_leave(resident: Resident) -> Leave:
    now = timezone.now()
    warden = User.objects.get(username="wendy")
    leave = leave_services.leave_request(
        resident=resident,
        by=warden,
        kind="home",
        starts=now + timedelta(hours=1),
        ends=now + timedelta(days=1),
        destination="Home",
    )
    return leave_services.leave_refuse(leave=leave, by=warden)


@pytest.fixture
def clients(guard, warden, superuser) -> dict[str, Client]:
    made = {ANON: Client()}
    for role, user in ((GUARD, guard), (WARDEN, warden), (SUPER, superuser)):
        made[role] = Client()
        made[role].force_login(user)
    return made


@pytest.mark.parametrize(
    ("method", "path", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX]
)
@pytest.mark.parametrize("role", [ANON, GUARD, WARDEN, SUPER])
def test_each_role_gets_what_design_section_1_allows(
    clients, resident, method, path, expected, role
) -> None:
    sample = resident.samples.all()[0].pk
    leave = refused_leave(resident)
    visitor = visitor_gone(resident)
    url = path.format(
        visitor=visitor.pk,
        id=resident.pk,
        index=1,
        sample=sample,
        uid="MQ",
        token="not-a-token",
        leave=leave.pk,
        link=links.leave_link_token(resident),
    ) + ("/" if "{token}" in path else "")
    client = clients[role]
    data = FORM if method == "post" else None
    if path.startswith("/api/"):
        response = (
            getattr(client, method)(url, data, content_type="application/json")
            if data
            else getattr(client, method)(url)
        )
    else:
        response = getattr(client, method)(url, data) if data else getattr(client, method)(url)

    want = expected[role]
    if want == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
    else:
        assert response.status_code == want, response.content[:300]
    if path.startswith("/api/") and response.status_code >= 400:
        assert "json" in response["Content-Type"]
        assert "error" in response.json()


def test_a_guard_sees_no_register_or_edit_buttons(clients, resident) -> None:
    page = clients[GUARD].get(f"/residents/{resident.pk}/").content.decode()

    assert "Ada Okafor" in page
    assert "/edit" not in page and "move-out" not in page and "/residents/new" not in page


def test_a_forbidden_page_is_a_friendly_403(clients) -> None:
    response = clients[GUARD].get("/residents/new")

    assert response.status_code == 403
    assert "Your role does not include this page" in response.content.decode()


def test_an_unknown_page_is_a_friendly_404_and_an_unknown_api_path_is_json(clients) -> None:
    page = clients[WARDEN].get("/residents/00000000-0000-0000-0000-000000000000/")
    api = clients[WARDEN].get("/api/no-such-thing")

    assert page.status_code == 404 and "There is nothing at this address" in page.content.decode()
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


def test_nothing_is_written_when_a_guard_tries_to_register(clients) -> None:
    clients[GUARD].post("/residents/new", FORM)
    clients[GUARD].post("/api/register", FORM, content_type="application/json")

    assert not Resident.objects.filter(name="Bo Lindqvist").exists()


def test_the_matrix_covers_every_url_the_site_answers() -> None:
    """A new page or endpoint without a row in MATRIX fails here."""
    from django.urls import URLPattern, URLResolver, get_resolver

    def routes(patterns: list, prefix: str = "") -> list[str]:
        found = []
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if str(entry.pattern) != "admin/":  # the admin is Django's: sampled above
                    found += routes(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                found.append(prefix + str(entry.pattern))
        return found

    def normalised(route: str) -> str:
        route = re.sub(r"<uuid:pk>", "{id}", route)
        route = re.sub(r"<int:index>", "{index}", route)
        route = re.sub(r"<int:sample>", "{sample}", route)
        route = re.sub(r"^(api/)?leaves/\{id\}", r"\1leaves/{leave}", route)
        route = route.replace("leave/<str:token>", "leave/{link}")
        route = re.sub(r"^(api/)?visitors/\{id\}", r"\1visitors/{visitor}", route)
        route = route.replace("<uidb64>/<token>", "{uid}/{token}")
        return "/" + route.rstrip("/") if route else "/"

    covered = {normalised(path.lstrip("/")) for _, path, _ in MATRIX}
    missing = {normalised(r) for r in routes(get_resolver().url_patterns)} - covered
    assert missing == set()
