"""Reports over the REST API (guards and wardens)."""

import datetime
from collections.abc import Callable
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hostel.api import has_perm
from reports import attendance, occupancy, selectors
from residents.models import Resident


def _parsed(parse: Callable[[str], "datetime.date"], value: str) -> "datetime.date":
    """A report's day or month, its ValueError a field error."""
    try:
        return parse(value)
    except ValueError as exc:
        raise serializers.ValidationError(f"{selectors.sentence(exc)}.") from None


class DailyReportApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("residents.view_resident")]

    class FilterSerializer(serializers.Serializer):
        date = serializers.CharField(required=False, help_text="YYYY-MM-DD; today by default.")

        def validate_date(self, value: str) -> "datetime.date":
            return _parsed(selectors.day_parse, value)

    @extend_schema(
        parameters=[FilterSerializer],
        responses=inline_serializer(
            "DailyReport",
            {
                "date": serializers.DateField(),
                "entries": serializers.IntegerField(),
                "exits": serializers.IntegerField(),
                "late_returns": serializers.IntegerField(),
                "curfew_breaches": serializers.IntegerField(),
                "denied": serializers.IntegerField(),
                "visitors": serializers.IntegerField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        day = filters.validated_data.get("date") or timezone.localdate()
        return Response(selectors.day_report(day).as_dict())


class MusterApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("residents.view_resident")]

    @extend_schema(
        responses=inline_serializer(
            "Muster",
            {
                "at": serializers.DateTimeField(),
                "count": serializers.IntegerField(),
                "never_scanned": serializers.IntegerField(
                    help_text="Residents living here never scanned: not known to be inside."
                ),
                "floors": serializers.ListField(child=serializers.DictField()),
                "visitors": serializers.ListField(child=serializers.DictField()),
            },
        )
    )
    def get(self, request: Request) -> Response:
        report = selectors.muster()
        floors: list[dict[str, Any]] = [
            {
                "floor": floor.floor,
                "residents": [
                    {"id": str(r.pk), "name": r.name, "room": r.room} for r in floor.residents
                ],
            }
            for floor in report.floors
        ]
        visitors = [
            {"id": str(v.pk), "name": v.name, "host": v.host.name, "room": v.host.room}
            for v in report.visitors
        ]
        return Response(
            {
                "at": report.at,
                "count": report.count,
                "never_scanned": report.never_scanned,
                "floors": floors,
                "visitors": visitors,
            }
        )


class OccupancyReportApi(APIView):
    """Residents inside at each hour of the last 30 local days (reports.selectors.occupancy)."""

    permission_classes = [IsAuthenticated, has_perm("residents.view_resident")]

    @extend_schema(
        responses=inline_serializer(
            "OccupancyReport",
            {
                "inside": serializers.IntegerField(help_text="Residents inside now."),
                "residents": serializers.IntegerField(help_text="Residents living here now."),
                "days": serializers.ListField(
                    child=serializers.DictField(),
                    help_text='Oldest first: {"date", "hours": [24 counts, local 00:00 to '
                    "23:00; null for an hour still to come]}.",
                ),
            },
        )
    )
    def get(self, request: Request) -> Response:
        report = occupancy.occupancy()
        days = [{"date": day.day.isoformat(), "hours": day.hours} for day in report.days]
        return Response({"inside": report.inside, "residents": report.residents, "days": days})


class AttendanceApi(APIView):
    """One resident's days in a month (reports.selectors.attendance)."""

    permission_classes = [IsAuthenticated, has_perm("residents.view_resident")]

    class FilterSerializer(serializers.Serializer):
        month = serializers.CharField(required=False, help_text="YYYY-MM; this month by default.")

        def validate_month(self, value: str) -> "datetime.date":
            return _parsed(selectors.month_parse, value)

    @extend_schema(
        parameters=[FilterSerializer],
        responses=inline_serializer(
            "Attendance",
            {
                "resident_id": serializers.UUIDField(),
                "month": serializers.CharField(),
                "nights_in": serializers.IntegerField(),
                "nights_out": serializers.IntegerField(),
                "nights_on_leave": serializers.IntegerField(),
                "late_returns": serializers.IntegerField(),
                "curfew_breaches": serializers.IntegerField(),
                "days": serializers.ListField(
                    child=serializers.DictField(),
                    help_text='{"date", "night": "in", "out", "leave" or "" (not known), '
                    '"entries", "exits", "first_in", "last_out", "hours_inside", "late", '
                    '"curfew_breaches"}',
                ),
            },
        ),
    )
    def get(self, request: Request, pk: str) -> Response:
        resident = Resident.objects.defer(*Resident.EMBEDDINGS).filter(pk=pk).first()
        if resident is None:
            raise NotFound("No resident with that id.")
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        month = filters.validated_data.get("month") or timezone.localdate()
        report = attendance.attendance(resident, month)
        days = [
            {
                "date": day.day.isoformat(),
                "night": day.night,
                "entries": day.entries,
                "exits": day.exits,
                "first_in": day.first_in,
                "last_out": day.last_out,
                "hours_inside": None if day.hours_inside is None else round(day.hours_inside, 2),
                "late": day.late,
                "curfew_breaches": day.curfew_breaches,
            }
            for day in report.days
        ]
        return Response(
            {
                "resident_id": str(resident.pk),
                "month": f"{report.month:%Y-%m}",
                "nights_in": report.nights_in,
                "nights_out": report.nights_out,
                "nights_on_leave": report.nights_on_leave,
                "late_returns": report.late_returns,
                "curfew_breaches": report.curfew_breaches,
                "days": days,
            }
        )
