"""Visitor pages for the gate: let someone in with a day pass, see who is inside, let them
out. Thin: the form validates, services write."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from residents.media import private_png_response, protected_file_response
from residents.passes import qr_png
from visitors import passes, selectors, services
from visitors.errors import VisitorError
from visitors.forms import VisitorForm
from visitors.models import Visitor


@login_required
@permission_required("visitors.view_visitor", raise_exception=True)
def visitor_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "visitors/list.html",
        {
            "inside": selectors.visitors_inside()[:500],
            "today": selectors.visitors_today()[:500],
            "closing_passed": selectors.closing_passed(),
        },
    )


@login_required
@permission_required("visitors.add_visitor", raise_exception=True)
@require_http_methods(["GET", "POST"])
def visitor_new(request: HttpRequest) -> HttpResponse:
    form = VisitorForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            visitor = services.visitor_check_in(by=request.user, **form.service_arguments())
        except VisitorError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"{visitor.name} is in. Show or print their day pass.")
            return redirect("visitors:detail", visitor.pk)
    return render(request, "visitors/form.html", {"form": form})


@login_required
@permission_required("visitors.view_visitor", raise_exception=True)
def visitor_detail(request: HttpRequest, pk: str) -> HttpResponse:
    visitor = get_object_or_404(Visitor.objects.select_related("host"), pk=pk)
    valid = visitor.pass_day() is not None
    return render(request, "visitors/detail.html", {"visitor": visitor, "pass_valid": valid})


@login_required
@permission_required("visitors.view_visitor", raise_exception=True)
def visitor_qr(request: HttpRequest, pk: str) -> HttpResponse:
    """Today's pass of a visitor checked in today; none for an earlier day's."""
    visitor = get_object_or_404(Visitor, pk=pk)
    day = visitor.pass_day()
    if day is None:
        raise Http404("that day pass has expired")
    return private_png_response(qr_png(passes.visitor_pass_token(visitor.pk, day), scale=8))


@login_required
@permission_required("visitors.view_visitor", raise_exception=True)
def visitor_photo(request: HttpRequest, pk: str) -> HttpResponse | FileResponse:
    visitor = get_object_or_404(Visitor, pk=pk)
    if not visitor.photo:
        raise Http404("no photo")
    return protected_file_response(visitor.photo.name, "image/jpeg")


@require_POST
@login_required
@permission_required("visitors.change_visitor", raise_exception=True)
def visitor_check_out(request: HttpRequest, pk: str) -> HttpResponse:
    visitor = get_object_or_404(Visitor.objects.select_related("host"), pk=pk)
    try:
        services.visitor_check_out(visitor=visitor, by=request.user)
    except VisitorError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{visitor.name} has left.")
    return redirect("visitors:list")
