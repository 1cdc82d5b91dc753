"""Leave pages: the warden's lists and decisions, and the resident's own request page,
reached from the link on their pass without a staff login. Thin: services write."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from hostel.auth import client_address, rate_limited
from hostel.pagination import paginate
from leaves import links, selectors, services
from leaves.errors import LeaveError
from leaves.forms import DecisionForm, LeaveFilterForm, LeaveForm
from leaves.models import Leave
from residents.models import Resident

PAGE_SIZE = 50


@login_required
@permission_required("leaves.view_leave", raise_exception=True)
def leave_list(request: HttpRequest) -> HttpResponse:
    filters = LeaveFilterForm(request.GET or None)
    show = (filters.is_valid() and filters.cleaned_data["show"]) or "pending"
    page, query = paginate(request, Paginator(selectors.leave_list(show=show), PAGE_SIZE))
    return render(
        request,
        "leaves/list.html",
        {"filters": filters, "show": show, "title": selectors.SHOWN[show], "page": page,
         "query": query},
    )  # fmt: skip


@login_required
@permission_required("leaves.add_leave", raise_exception=True)
@require_http_methods(["GET", "POST"])
def leave_new(request: HttpRequest, pk: str) -> HttpResponse:
    """A warden asks for leave on a resident's behalf (then decides it on its page)."""
    resident = get_object_or_404(Resident, pk=pk, is_active=True)
    form = LeaveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            leave = services.leave_request(
                resident=resident, by=request.user, **form.service_arguments()
            )
        except LeaveError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Leave requested for {resident.name}: approve or refuse it.")
            return redirect("leaves:detail", leave.pk)
    return render(request, "leaves/form.html", {"form": form, "resident": resident})


@login_required
@permission_required("leaves.view_leave", raise_exception=True)
def leave_detail(request: HttpRequest, pk: str) -> HttpResponse:
    leave = get_object_or_404(Leave.objects.select_related("resident"), pk=pk)
    return render(request, "leaves/detail.html", {"leave": leave, "form": DecisionForm()})


@require_POST
@login_required
@permission_required("leaves.decide_leave", raise_exception=True)
def leave_decide(request: HttpRequest, pk: str, decision: str) -> HttpResponse:
    leave = get_object_or_404(Leave.objects.select_related("resident"), pk=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The note is at most 200 characters; nothing was decided.")
        return redirect("leaves:detail", leave.pk)
    decide = services.leave_approve if decision == "approve" else services.leave_refuse
    try:
        decide(leave=leave, by=request.user, note=form.cleaned_data["note"])
    except LeaveError as exc:
        messages.error(request, exc.message)
    else:
        done = "approved" if decision == "approve" else "refused"
        messages.success(request, f"The leave of {leave.resident.name} is {done}.")
    return redirect("leaves:detail", leave.pk)


def _resident_of(path: str) -> str:
    """Whose link a path is (every link of one resident counts together), or the path."""
    return links.leave_link_subject(path.rsplit("/", 1)[-1]) or path[-64:]


@rate_limited(
    "leave-link",
    lambda: settings.THROTTLE_LEAVE_LINK,
    "Too many leave requests from here or with this link. Wait a while, or ask the warden.",
    keys=lambda request: [client_address(request), "link:" + _resident_of(request.path)],
)
@require_http_methods(["GET", "POST"])
def leave_ask(request: HttpRequest, token: str) -> HttpResponse:
    """The resident's own page: their recent leave, and a form to ask for more."""
    try:
        resident = links.leave_link_resident(token)
    except LeaveError as exc:
        return render(request, "leaves/ask_invalid.html", {"message": exc.message}, status=404)
    form = LeaveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.leave_request(resident=resident, by=None, **form.service_arguments())
        except LeaveError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Asked: the warden will approve or refuse it.")
            return redirect("leave-ask", token)
    return render(
        request,
        "leaves/ask.html",
        {"resident": resident, "form": form, "leaves": selectors.resident_leaves(resident)},
    )
