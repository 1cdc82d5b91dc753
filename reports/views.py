"""Report pages: the day's numbers, the emergency muster list (one page a floor on paper), a
resident's month, and the last 30 days' occupancy as a chart; on screen, on paper and as
CSV."""

from collections.abc import Iterable, Iterator
from datetime import date

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from hostel.spreadsheets import csv_lines, safe_cell
from reports import attendance, occupancy, selectors
from residents.models import Resident


def _day(request: HttpRequest) -> tuple[date, str]:
    """The day asked for (?date=YYYY-MM-DD), or today; and what was wrong with it, if any."""
    asked = request.GET.get("date", "")
    try:
        return selectors.day_parse(asked) if asked else timezone.localdate(), ""
    except ValueError as exc:
        return timezone.localdate(), f"{selectors.sentence(exc)}: today shown."


@login_required
@permission_required("residents.view_resident", raise_exception=True)
def daily(request: HttpRequest) -> HttpResponse:
    day, problem = _day(request)
    report = selectors.day_report(day)
    if request.GET.get("format") == "csv":
        return _csv([list(report.as_dict()), list(report.as_dict().values())], f"gate-{day}.csv")
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


def _month(request: HttpRequest) -> tuple[date, str]:
    """The month asked for (?month=YYYY-MM), or this one; and what was wrong with it."""
    asked = request.GET.get("month", "")
    try:
        return selectors.month_parse(asked) if asked else _this_month(), ""
    except ValueError as exc:
        return _this_month(), f"{selectors.sentence(exc)}: this month shown."


def _this_month() -> date:
    return timezone.localdate().replace(day=1)


@login_required
@permission_required("residents.view_resident", raise_exception=True)
def resident_month(request: HttpRequest, pk: str) -> HttpResponse:
    resident = get_object_or_404(Resident.objects.defer(*Resident.EMBEDDINGS), pk=pk)
    month, problem = _month(request)
    report = attendance.attendance(resident, month)
    if request.GET.get("format") == "csv":
        return _attendance_csv(report)
    return render(request, "reports/attendance.html", {"report": report, "problem": problem})


def _attendance_csv(report: attendance.Attendance) -> HttpResponse:
    def moment(value: object) -> str:
        return timezone.localtime(value).isoformat() if value else ""  # type: ignore[arg-type]

    rows: list[list[object]] = [
        ["date", "night", "entries", "exits", "first_in", "last_out", "hours_inside", "late",
         "curfew_breaches"],
        *(
            [day.day.isoformat(), day.night, day.entries, day.exits, moment(day.first_in),
             moment(day.last_out),
             "" if day.hours_inside is None else f"{day.hours_inside:.2f}", day.late,
             day.curfew_breaches]
            for day in report.days
        ),
    ]  # fmt: skip
    return _csv(rows, f"attendance-{report.resident.pk}-{report.month:%Y-%m}.csv")


def _csv(rows: Iterable[Iterable[object]], name: str) -> HttpResponse:
    response = HttpResponse("".join(csv_lines(rows)), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@permission_required("residents.view_resident", raise_exception=True)
def occupancy_chart(request: HttpRequest) -> HttpResponse:
    report = occupancy.occupancy()
    if request.GET.get("format") == "csv":
        head: list[object] = ["date", *(f"{hour:02}:00" for hour in range(24))]
        days = ([day.day.isoformat(), *("" if n is None else n for n in day.hours)]
                for day in report.days)  # fmt: skip
        return _csv([head, *days], "occupancy.csv")
    return render(request, "reports/occupancy.html", {"report": report, "chart": _chart(report)})


CELL_W, CELL_H, LABEL_W, TOP = 24, 16, 92, 18


def _shade(inside: int, scale: int) -> int:
    """0 for nobody, then 1 to 5 by fifths of ``scale``."""
    return 0 if inside <= 0 else min(5, 1 + (inside - 1) * 5 // scale)


def _chart(report: occupancy.Occupancy) -> dict[str, object]:
    """The heat map's geometry: a row a day, a column an hour, darker for more inside (none,
    then five shades by fifths of the residents living here)."""
    scale = max(report.residents, report.peak, 1)
    rows = []
    for number, day in enumerate(report.days):
        y = TOP + number * CELL_H
        cells = [
            {
                "x": LABEL_W + hour * CELL_W,
                "level": "later" if n is None else _shade(n, scale),
                "title": f"{day.day:%a %d %b} {hour:02}:00: "
                + ("not yet" if n is None else f"{n} inside"),
            }
            for hour, n in enumerate(day.hours)
        ]
        rows.append({"y": y, "label": f"{day.day:%a %d %b}", "cells": cells})
    return {
        "rows": rows,
        "hours": [{"x": LABEL_W + hour * CELL_W + CELL_W / 2, "label": f"{hour:02}"}
                  for hour in range(0, 24, 3)],
        "width": LABEL_W + 24 * CELL_W + 4,
        "height": TOP + len(rows) * CELL_H + 4,
        "cell_w": CELL_W - 2,
        "cell_h": CELL_H - 2,
        "label_x": LABEL_W - 6,
        "scale": scale,
    }  # fmt: skip
