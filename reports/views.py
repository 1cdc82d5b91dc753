"""Report pages: the day's numbers and the emergency muster list, on screen, on paper (one
page a floor) and as CSV."""

from collections.abc import Iterator
from datetime import date

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from hostel.spreadsheets import csv_lines, safe_cell
from reports import selectors


def _day(request: HttpRequest) -> tuple[date, str]:
    """The day asked for (?date=YYYY-MM-DD), or today; and what was wrong with it, if any."""
    asked = request.GET.get("date", "")
    if asked:
        try:
            return date.fromisoformat(asked), ""
        except ValueError:
            return timezone.localdate(), f"{asked[:20]!r} is not a date (YYYY-MM-DD): today shown."
    return timezone.localdate(), ""


@login_required
@permission_required("residents.view_resident", raise_exception=True)
def daily(request: HttpRequest) -> HttpResponse:
    day, problem = _day(request)
    report = selectors.day_report(day)
    if request.GET.get("format") == "csv":
        rows: list[list[object]] = [list(report.as_dict()), list(report.as_dict().values())]
        response = HttpResponse("".join(csv_lines(rows)), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="gate-{day}.csv"'
        return response
    return render(request, "reports/daily.html", {"report": report, "problem": problem})


@login_required
@permission_required("residents.view_resident", raise_exception=True)
def muster(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    report = selectors.muster()
    if request.GET.get("format") == "csv":
        return _muster_csv(report)
    return render(request, "reports/muster.html", {"muster": report})


def _muster_csv(report: selectors.Muster) -> StreamingHttpResponse:
    def table() -> Iterator[list[object]]:
        yield ["floor", "room", "name", "phone", "in_since", "kind"]
        for floor in report.floors:
            for resident in floor.residents:
                since = resident.status_changed_at
                yield [
                    floor.floor if floor.floor is not None else "",
                    safe_cell(resident.room),
                    safe_cell(resident.name),
                    safe_cell(resident.phone),
                    since.isoformat() if since else "",
                    "resident",
                ]
        for visitor in report.visitors:
            yield [
                "",
                safe_cell(visitor.host.room),
                safe_cell(visitor.name),
                safe_cell(visitor.phone),
                visitor.checked_in_at.isoformat(),
                "visitor",
            ]

    response = StreamingHttpResponse(csv_lines(table()), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="muster.csv"'
    return response
