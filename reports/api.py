"""Reports over the REST API (guards and wardens)."""

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hostel.api import has_perm
from reports import selectors


class DailyReportApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("residents.view_resident")]

    class FilterSerializer(serializers.Serializer):
        date = serializers.DateField(required=False, help_text="YYYY-MM-DD; today by default.")

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
            {"at": report.at, "count": report.count, "floors": floors, "visitors": visitors}
        )
