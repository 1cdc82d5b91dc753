from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from hostel import api
from ledger.models import Block
from residents import selectors


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers: 200 when the database answers, 503 when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    can_see = request.user.has_perm("residents.view_resident")
    context = {
        "occupancy": selectors.occupancy() if can_see else None,
        "latest": Block.objects.order_by("-index")[:10]
        if request.user.has_perm("ledger.view_block")
        else [],
    }
    return render(request, "dashboard.html", context)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


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
    if _is_api(request):
        return api.json_server_error(request)
    return render(request, "500.html", status=500)
