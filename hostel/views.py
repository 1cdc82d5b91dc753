import sys
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from hostel import api
from hostel.errors import DomainError
from ledger import selectors as ledger_selectors
from residents import scan_selectors, selectors
from residents.models import Resident
from visitors import selectors as visitor_selectors


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers: 200 when the database answers and its schema is this release's;
    503 when it does not answer, or migrations are still to be applied (a server deployed
    before `manage.py migrate` ran must not take traffic)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        pending = _unapplied_migrations()
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    if pending:  # how many, not which: the endpoint answers anyone
        body = {
            "status": "error",
            "database": connection.vendor,
            "unapplied_migrations": len(pending),
        }
        return JsonResponse(body, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})


_schema_current = False  # once this process saw its migrations applied, they stay applied


def _unapplied_migrations() -> list[str]:
    """Migrations this release has that the database lacks (reading the migration files is
    slow: once none are missing, the answer is remembered for the process's life)."""
    global _schema_current
    if _schema_current:
        return []
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    _schema_current = not plan
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = _live(request)
    if request.user.has_perm("residents.view_resident"):
        context["chart"] = _chart(scan_selectors.scans_today_by_hour())
    if request.user.has_perm("ledger.view_block"):
        context["verification"] = ledger_selectors.verification_latest()
    return render(request, "dashboard.html", context)


@login_required
def dashboard_latest(request: HttpRequest) -> HttpResponse:
    """The dashboard's live part, fetched again every few seconds by dashboard.js."""
    return render(request, "includes/_live.html", _live(request))


def _live(request: HttpRequest) -> dict[str, Any]:
    """What the dashboard refreshes every few seconds: the counts, who is out after curfew
    and who is in, the latest scans and denied attempts."""
    live: dict[str, Any] = {}
    if request.user.has_perm("residents.view_resident"):
        after_curfew = scan_selectors.residents_out_after_curfew()
        live |= {
            "occupancy": selectors.occupancy(),
            "inside": scan_selectors.residents_inside().defer(*Resident.EMBEDDINGS)[:300],
            "after_curfew": (
                after_curfew.defer(*Resident.EMBEDDINGS)[:300] if after_curfew is not None else None
            ),
            "curfew": settings.CURFEW,
        }
    if request.user.has_perm("visitors.view_visitor"):
        live["visitors_inside"] = visitor_selectors.visitors_inside().count()
        live["visitors_late"] = live["visitors_inside"] and visitor_selectors.closing_passed()
    if request.user.has_perm("ledger.view_block"):
        live["latest"] = list(scan_selectors.latest_scans(12))
        live["denied"] = list(scan_selectors.latest_denied(6))
    return live


def _chart(hours: list[dict[str, int]]) -> dict[str, Any]:
    """Bar geometry for today's entries and exits per hour (an inline SVG, no library)."""
    height, top = 120, max([1] + [max(h["in"], h["out"]) for h in hours])
    bars = []
    for h in hours:
        in_height = round(h["in"] / top * height)
        out_height = round(h["out"] / top * height)
        bars.append(
            {
                **h,
                "x": h["hour"] * 20 + 2,
                "in_height": in_height,
                "in_y": height - in_height,
                "out_height": out_height,
                "out_y": height - out_height,
            }
        )
    total_in = sum(h["in"] for h in hours)
    total_out = sum(h["out"] for h in hours)
    return {"bars": bars, "height": height, "top": top, "in": total_in, "out": total_out}


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400 handler (a request too large or malformed to parse, a bad Host)."""
    if _is_api(request):
        body = api.error_body("bad_request", "The request could not be read; nothing was done.")
        return JsonResponse(body, status=400)
    return render(request, "400.html", status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            api.error_body("permission_denied", "Your role does not allow this."), status=403
        )
    return render(request, "403.html", status=403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return api.json_not_found(request)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 handler. An unreachable or overloaded database, or a ledger that stayed
    locked past the lock timeout, is a 503: nothing was saved, the request may simply be
    tried again, and the page must not need the database to render."""
    failure = sys.exc_info()[1]
    # Only "busy" means "try again": a corrupt chain stays a 500 that is mailed to ADMINS.
    busy = isinstance(failure, DomainError) and failure.code == "ledger_busy"
    if busy or isinstance(failure, OperationalError | InterfaceError):
        response: HttpResponse
        if _is_api(request):
            response = api.json_unavailable(request)
        else:
            response = render(request, "503.html", status=503)
        response["Retry-After"] = "10"
        return response
    if _is_api(request):
        return api.json_server_error(request)
    return render(request, "500.html", status=500)
