"""The ledger's staff pages: the event list, one block, the CSV export, a verification."""

import json
from collections.abc import Iterator
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from hostel.pagination import CappedPaginator, paginate
from hostel.spreadsheets import csv_lines, safe_cell
from ledger import registry, selectors, services
from ledger.forms import LedgerFilterForm
from ledger.models import ArchiveSegment

PAGE_SIZE = 50
SITE_VERIFY_INTERVAL = timedelta(minutes=1)


@login_required
@permission_required("ledger.view_block", raise_exception=True)
def block_list(request: HttpRequest) -> HttpResponse:
    filters = LedgerFilterForm(request.GET or None)
    arguments = filters.selector_arguments()
    blocks = selectors.ledger_list(**arguments)
    known = selectors.ledger_count_known(arguments)
    pages = CappedPaginator(blocks, PAGE_SIZE, cap=selectors.COUNT_CAP, known_count=known)
    page, query = paginate(request, pages)
    # Each event type's own cells: the template its app registered.
    entries = [(block, registry.event_template(block.type)) for block in page]
    return render(
        request,
        "ledger/list.html",
        {
            "filters": filters,
            "page": page,
            "entries": entries,
            "query": query,
            "subject": registry.subject(),
            "verification": selectors.verification_latest(),
            "archive": selectors.archive_anchor(),
        },
    )


@login_required
@permission_required("ledger.view_block", raise_exception=True)
def block_detail(request: HttpRequest, index: int) -> HttpResponse:
    block = selectors.block_get(index)
    if block is None:
        archive = selectors.archive_anchor()
        if archive is not None and index <= archive.last_index:
            return render(request, "ledger/archived.html", {"index": index, "archive": archive})
        raise Http404("no such block")
    neighbours = {
        "previous": block.index - 1 if block.index > 0 else None,
        "next": block.index + 1 if selectors.block_has_successor(block) else None,
    }
    # "entry", not "block": inside {% block %} tags Django binds "block" to the tag itself.
    return render(request, "ledger/block.html", {"entry": block, **neighbours})


@login_required
@permission_required("ledger.export_blocks", raise_exception=True)
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered events as CSV, streamed: a million rows never sit in memory."""
    filters = LedgerFilterForm(request.GET or None)
    blocks = selectors.ledger_list(**filters.selector_arguments()).values_list(
        "index", "timestamp", "data", "hash", "signature", "key_id"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(
        _csv_rows(blocks.iterator(chunk_size=2000), selectors.archive_anchor()),
        content_type="text/csv",
    )
    response["Content-Disposition"] = f'attachment; filename="hostel-ledger-{stamp}.csv"'
    return response


def _csv_rows(
    rows: Iterator[tuple[int, str, str, str, str, str]], archive: ArchiveSegment | None
) -> Iterator[str]:
    """index, timestamp, type, the registered data columns, then the block's proof; then,
    when older events are archived, a last line that says so (the file holds only the rest)."""
    columns = registry.csv_columns()

    def table() -> Iterator[list[object]]:
        yield ["index", "timestamp", "type", *columns, "hash", "signature", "key_id"]
        for index, timestamp, data, block_hash, signature, key_id in rows:
            payload = json.loads(data)
            values = [safe_cell(payload.get(column, "")) for column in columns]
            yield [
                index,
                timestamp,
                safe_cell(payload.get("type", "")),
                *values,
                block_hash,
                signature,
                key_id,
            ]
        if archive is not None:  # last, so that the header stays the first line
            yield [
                f"Note: events up to {archive.last_timestamp} (blocks 0-{archive.last_index}) "
                f"are archived in {archive.location} and are not in this file."
            ]

    return csv_lines(table())


@login_required
@permission_required("ledger.verify_chain", raise_exception=True)
@require_POST
def verify(request: HttpRequest) -> HttpResponse:
    latest = selectors.verification_latest()
    if latest and timezone.now() - latest.finished_at < SITE_VERIFY_INTERVAL:
        # A run reads every block: the button cannot be made to do that back to back.
        messages.info(request, "The chain was verified less than a minute ago; see the result.")
        return redirect(_back(request))
    report, _ = services.verification_run(trigger="site", by=request.user.get_username())
    if report.valid:
        messages.success(request, f"The ledger is valid: {report.blocks} blocks checked.")
    else:
        messages.error(
            request,
            f"The ledger has {report.problem_count} problem(s). Tell the administrator; "
            "details are on the ledger page.",
        )
    return redirect(_back(request))


def _back(request: HttpRequest) -> str:
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return "ledger:list"
    return back or "ledger:list"
