"""Staff pages for residents and their passes. Thin: forms validate, services write."""

import json
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from hostel.pagination import paginate
from hostel.security import capture_allowed
from hostel.spreadsheets import csv_lines, safe_cell
from ledger import crypto, receipts
from ledger import selectors as ledger_selectors
from residents import imports, passes, scan_selectors, selectors, services
from residents.errors import ImportRefused, ResidentError
from residents.forms import (
    DeactivateForm,
    ImportForm,
    MoveOutManyForm,
    ResidentFilterForm,
    ResidentForm,
    SampleForm,
)
from residents.media import pass_download_response, private_png_response, protected_file_response
from residents.models import Resident, Sample

PAGE_SIZE = 25
OUT_LIST_LIMIT = 2000
SHEET_LIMIT = 200  # passes on one sheet (25 pages of 8)
MOVE_OUT_LIMIT = 1000  # residents moved out at once


@login_required
@permission_required("residents.view_resident", raise_exception=True)
def resident_list(request: HttpRequest) -> HttpResponse:
    filters = ResidentFilterForm(request.GET or None)
    residents = selectors.resident_list(**filters.selector_arguments())
    page, query = paginate(request, Paginator(residents, PAGE_SIZE))
    return render(
        request,
        "residents/list.html",
        {"filters": filters, "page": page, "query": query},
    )


@capture_allowed
@login_required
@permission_required("residents.add_resident", raise_exception=True)
@require_http_methods(["GET", "POST"])
def resident_register(request: HttpRequest) -> HttpResponse:
    form = ResidentForm(**_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            resident = services.resident_register(by=request.user, **form.service_arguments())
        except ResidentError as exc:
            form.refused(exc)
        else:
            messages.success(request, f"{resident.name} is registered. Print their pass below.")
            return redirect("residents:detail", resident.pk)
    elif request.method == "POST":
        form.keep_uploads()
    return render(request, "residents/form.html", {"form": form, "resident": None})


@capture_allowed
@login_required
@permission_required("residents.view_resident", raise_exception=True)
def resident_detail(request: HttpRequest, pk: str) -> HttpResponse:
    resident = get_object_or_404(Resident, pk=pk)
    history = Paginator(selectors.resident_history(resident), 20).get_page(request.GET.get("page"))
    archive = ledger_selectors.archive_anchor()
    registered = crypto.format_timestamp(resident.created_at)
    if archive is not None and registered > archive.last_timestamp:
        archive = None  # registered after the archived events: none of them are theirs
    checkpoint = ledger_selectors.checkpoint_latest()
    return render(
        request,
        "residents/detail.html",
        {
            "resident": resident,
            "samples": selectors.resident_samples(resident),
            "sample_limits": {
                "face": services.FACE_SAMPLES_MAX,
                "voice": services.VOICE_SAMPLES_MAX,
            },
            "history": history,
            "archive": archive,
            "receipts_below": checkpoint.size if checkpoint else 0,
            "checkpoint_public_key": settings.LEDGER_CHECKPOINT_PUBLIC_KEY,
        },
    )


@login_required
@permission_required("residents.view_resident", raise_exception=True)
def resident_receipt(request: HttpRequest, pk: str, index: int) -> HttpResponse:
    """One of the resident's events as a receipt file a guardian can check offline."""
    resident = get_object_or_404(Resident, pk=pk)
    block = ledger_selectors.block_get(index)
    if block is None or block.subject != str(resident.pk):
        raise Http404("no such event of this resident")
    try:
        receipt = receipts.receipt_for(block)
    except receipts.ReceiptError as exc:
        messages.error(request, exc.message)
        return redirect("residents:detail", pk=resident.pk)
    response = HttpResponse(json.dumps(receipt, indent=2) + "\n", content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="receipt-block-{index}.json"'
    return response


@capture_allowed
@login_required
@permission_required("residents.change_resident", raise_exception=True)
@require_http_methods(["GET", "POST"])
def resident_edit(request: HttpRequest, pk: str) -> HttpResponse:
    resident = get_object_or_404(Resident, pk=pk)
    form = ResidentForm(**_posted(request), instance=resident)
    if request.method == "POST" and form.is_valid():
        try:
            services.resident_update(resident=resident, by=request.user, **form.service_arguments())
        except ResidentError as exc:
            form.refused(exc)
        else:
            messages.success(request, "Changes saved.")
            return redirect("residents:detail", resident.pk)
    elif request.method == "POST":
        form.keep_uploads()
    return render(request, "residents/form.html", {"form": form, "resident": resident})


@login_required
@permission_required("residents.change_resident", raise_exception=True)
@require_POST
def resident_sample_add(request: HttpRequest, pk: str) -> HttpResponse:
    """Add a photo or voice recording to the resident's enrolment (the resident page)."""
    resident = get_object_or_404(Resident, pk=pk)
    form = SampleForm(request.POST, request.FILES)
    if not form.is_valid():
        for error in form.non_field_errors():
            messages.error(request, str(error))
        return redirect("residents:detail", resident.pk)
    try:
        resident = services.resident_sample_add(
            resident=resident,
            by=request.user,
            photo=form.cleaned_data["photo"] or None,
            voice=form.cleaned_data["voice"] or None,
            same_face_confirmed=form.cleaned_data["same_face_confirmed"],
        )
    except ResidentError as exc:
        messages.error(request, str(exc))
    else:
        counts = selectors.sample_counts(resident)
        messages.success(
            request,
            f"Added. {resident.name} is enrolled with {_count(counts['face'], 'photo')} and "
            f"{_count(counts['voice'], 'voice recording')}.",
        )
    return redirect("residents:detail", resident.pk)


@login_required
@permission_required("residents.view_resident", raise_exception=True)
def resident_sample(request: HttpRequest, pk: str, sample: int) -> FileResponse | HttpResponse:
    """One of the resident's enrolment photos or recordings."""
    found = get_object_or_404(Sample, pk=sample, resident_id=pk)
    content_type = "image/jpeg" if found.kind == Sample.Kind.FACE else "audio/wav"
    return protected_file_response(found.file.name or "", content_type)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


@login_required
@permission_required("residents.deactivate_resident", raise_exception=True)
@require_http_methods(["GET", "POST"])
def resident_deactivate(request: HttpRequest, pk: str) -> HttpResponse:
    resident = get_object_or_404(Resident, pk=pk)
    form = DeactivateForm(data=_posted(request)["data"])
    if request.method == "POST" and form.is_valid():
        try:
            services.resident_deactivate(
                resident=resident, by=request.user, moved_out_on=form.cleaned_data["moved_out_on"]
            )
        except ResidentError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{resident.name} moved out; their pass no longer works.")
        return redirect("residents:detail", resident.pk)
    return render(request, "residents/deactivate.html", {"resident": resident, "form": form})


@login_required
@permission_required("residents.deactivate_resident", raise_exception=True)
@require_http_methods(["GET", "POST"])
def residents_move_out(request: HttpRequest) -> HttpResponse:
    """Move out every resident the list's filters find (living here), at the end of a term:
    the list first, then a confirmation that it was checked."""
    filters = ResidentFilterForm(request.GET or None)
    found = list(
        selectors.resident_list(**filters.selector_arguments() | {"active": True}).defer(
            *Resident.EMBEDDINGS
        )[: MOVE_OUT_LIMIT + 1]
    )
    form = MoveOutManyForm(request.POST or None, initial={"count": len(found)})
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["count"] != len(found) or len(found) > MOVE_OUT_LIMIT:
            messages.error(request, "The list changed since it was shown: check it again.")
        else:
            refused = services.residents_move_out(
                residents=found, by=request.user, moved_out_on=form.cleaned_data["moved_out_on"]
            )
            messages.success(request, f"{len(found) - len(refused)} residents moved out.")
            for resident, error in refused:
                messages.error(request, f"{resident.name}: {error}")
            return redirect("residents:list")
    return render(
        request,
        "residents/move_out_many.html",
        {"residents": found[:MOVE_OUT_LIMIT], "too_many": len(found) > MOVE_OUT_LIMIT,
         "form": form, "query": request.GET.urlencode()},
    )  # fmt: skip


@login_required
@permission_required("residents.add_resident", raise_exception=True)
@require_http_methods(["GET", "POST"])
def residents_import(request: HttpRequest) -> HttpResponse:
    """Residents from a CSV or XLSX file: every row checked and shown first; imported (all
    or none) only from a preview without problems."""
    form = ImportForm(request.POST or None, request.FILES or None)
    sheet = None
    if request.method == "POST" and form.is_valid():
        try:
            sheet = imports.sheet_read(form.cleaned_data["content"])
            if "import" in request.POST and not sheet.problems:
                registered = imports.sheet_import(sheet, by=request.user)
                messages.success(request, f"{_count(len(registered), 'resident')} imported.")
                return redirect(f"{reverse('residents:list')}?order=newest")
        except ImportRefused as exc:
            form.add_error("file" if exc.code == "invalid_file" else None, str(exc))
    return render(request, "residents/import.html", {"form": form, "sheet": sheet})


@login_required
@permission_required("residents.add_resident", raise_exception=True)
def import_template(request: HttpRequest) -> HttpResponse:
    """An empty spreadsheet with the columns an import reads."""
    response = HttpResponse("".join(csv_lines([imports.COLUMNS])), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="residents.csv"'
    return response


@login_required
@permission_required("residents.deactivate_resident", raise_exception=True)
@require_POST
def resident_reactivate(request: HttpRequest, pk: str) -> HttpResponse:
    return _resident_action(
        request,
        pk,
        services.resident_reactivate,
        lambda resident: (
            f"{resident.name} moved back in. Print their new pass: the old one stays void."
        ),
    )


@login_required
@permission_required("residents.change_resident", raise_exception=True)
@require_POST
def resident_status(request: HttpRequest, pk: str) -> HttpResponse:
    status = request.POST.get("status", "")
    return _resident_action(
        request,
        pk,
        services.resident_status_set,
        lambda resident: f"{resident.name} is now marked {status}.",
        status=status,
    )


@login_required
@permission_required("residents.reissue_pass", raise_exception=True)
@require_POST
def pass_reissue(request: HttpRequest, pk: str) -> HttpResponse:
    return _resident_action(
        request,
        pk,
        services.pass_reissue,
        lambda resident: "New pass issued. Older printouts no longer open the gate.",
        then="residents:pass",
    )


def _resident_action(
    request: HttpRequest,
    pk: str,
    service: Callable[..., Resident],
    done: Callable[[Resident], str],
    *,
    then: str = "residents:detail",
    **arguments: Any,
) -> HttpResponse:
    """A button's POST: run the service, say what it did or why not, go back."""
    resident = get_object_or_404(Resident, pk=pk)
    try:
        service(resident=resident, by=request.user, **arguments)
    except ResidentError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done(resident))
    return redirect(then, resident.pk)


@login_required
@permission_required("residents.view_resident", raise_exception=True)
def pass_card(request: HttpRequest, pk: str) -> HttpResponse:
    resident = get_object_or_404(Resident, pk=pk)
    return render(request, "residents/pass.html", {"resident": resident})


@login_required
@permission_required("residents.view_resident", raise_exception=True)
def pass_qr(request: HttpRequest, pk: str) -> HttpResponse:
    resident = get_object_or_404(Resident, pk=pk, is_active=True)
    png = passes.qr_png(passes.pass_token(resident.pk, resident.pass_version))
    return private_png_response(png)


@login_required
@permission_required("residents.view_resident", raise_exception=True)
def pass_sheet(request: HttpRequest) -> HttpResponse:
    """The passes of the residents the list's filters find (living here), 8 to an A4 page
    with cut lines, to print for a new intake; SHEET_LIMIT at most."""
    filters = ResidentFilterForm(request.GET or None)
    arguments = filters.selector_arguments() | {"active": True}
    found = list(selectors.resident_list(**arguments)[: SHEET_LIMIT + 1])
    residents = found[:SHEET_LIMIT]
    pages = [residents[start : start + 8] for start in range(0, len(residents), 8)]
    return render(
        request,
        "residents/sheet.html",
        {"pages": pages, "count": len(residents), "more": len(found) > SHEET_LIMIT},
    )


@login_required
@permission_required("residents.view_resident", raise_exception=True)
def pass_png(request: HttpRequest, pk: str) -> HttpResponse:
    return pass_download_response(get_object_or_404(Resident, pk=pk, is_active=True))


@login_required
@permission_required("residents.view_resident", raise_exception=True)
def resident_photo(request: HttpRequest, pk: str) -> FileResponse | HttpResponse:
    return _resident_file(pk, "photo", "image/jpeg")


@login_required
@permission_required("residents.view_resident", raise_exception=True)
def resident_voice(request: HttpRequest, pk: str) -> FileResponse | HttpResponse:
    return _resident_file(pk, "voice_sample", "audio/wav")


def _resident_file(pk: str, field: str, content_type: str) -> FileResponse | HttpResponse:
    stored = getattr(get_object_or_404(Resident, pk=pk), field)
    if not stored:
        raise Http404(f"no {field}")
    return protected_file_response(stored.name, content_type)


@login_required
@permission_required("residents.view_resident", raise_exception=True)
def residents_out(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Who is out (after the curfew: the curfew list), with "out since", to print or, for
    those who may export, as CSV."""
    out = scan_selectors.residents_out()
    if request.GET.get("format") == "csv":
        if not request.user.has_perm("residents.export_data"):
            raise PermissionDenied
        return _out_csv(out)
    # One page, so that Print prints everyone; past OUT_LIST_LIMIT the CSV has the rest.
    shown = list(out.defer(*Resident.EMBEDDINGS)[:OUT_LIST_LIMIT])
    context = {
        "out": shown,
        "count": len(shown) if len(shown) < OUT_LIST_LIMIT else out.count(),
        "curfew": settings.CURFEW,
        "curfew_passed": scan_selectors.curfew_passed(),
    }
    return render(request, "residents/out.html", context)


def _out_csv(out: QuerySet[Resident]) -> StreamingHttpResponse:
    def table() -> Iterator[list[object]]:
        yield ["name", "room", "phone", "emergency_contact", "out_since", "resident_id"]
        for resident in out.defer(*Resident.EMBEDDINGS).iterator(chunk_size=2000):
            since = resident.status_changed_at
            yield [
                safe_cell(resident.name),
                safe_cell(resident.room),
                resident.phone,  # validated: digits, spaces, ().- and a leading +, no formula
                safe_cell(resident.emergency_contact),
                timezone.localtime(since).isoformat(timespec="seconds") if since else "",
                resident.pk,
            ]

    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(csv_lines(table()), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="hostel-out-{stamp}.csv"'
    return response


@capture_allowed
@login_required
@permission_required("residents.record_scan", raise_exception=True)
def scan_page(request: HttpRequest) -> HttpResponse:
    return render(request, "residents/scan.html", {"gates": scan_selectors.gate_list()})


def _posted(request: HttpRequest) -> dict[str, Any]:
    """A form's data and files: bound on POST even when the POST is empty (unlike
    `POST or None`), unbound otherwise."""
    if request.method == "POST":
        return {"data": request.POST, "files": request.FILES}
    return {"data": None, "files": None}
