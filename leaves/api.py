"""Leave over the REST API: wardens ask and decide, guards read. One APIView per operation."""

from typing import Any

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hostel.api import Pagination, TextField, UUIDTextField, has_perm
from hostel.parsers import JSONParser
from hostel.schema import paginated
from leaves import selectors, services
from leaves.models import Leave
from residents.models import Resident


class MomentField(serializers.DateTimeField):
    """An RFC 3339 time with its offset: a time without one is refused (whose clock would
    it be?), as is one that does not fit a date (year 9999 and an offset overflow)."""

    def to_internal_value(self, value: Any) -> Any:
        if not isinstance(value, str):
            raise serializers.ValidationError("Must be text: an RFC 3339 time.", code="invalid")
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is None:
            raise serializers.ValidationError(
                "Give the time with its offset, e.g. 2027-01-01T10:00:00+01:00.", code="invalid"
            )
        try:
            return super().to_internal_value(value)
        except OverflowError:
            raise serializers.ValidationError("No such time.", code="invalid") from None


class LeaveOutputSerializer(serializers.ModelSerializer):
    resident_id = serializers.UUIDField(source="resident.pk")
    resident_name = serializers.CharField(source="resident.name")
    room = serializers.CharField(source="resident.room")
    requested_by = serializers.SerializerMethodField()
    decided_by = serializers.SerializerMethodField()
    late = serializers.BooleanField(help_text="Back after the leave's end.")

    class Meta:
        model = Leave
        fields = [
            "id", "resident_id", "resident_name", "room", "kind", "starts", "ends",
            "destination", "reason", "status", "requested_by", "decided_by", "decided_at",
            "decision_note", "left_at", "returned_at", "late", "created_at",
        ]  # fmt: skip

    def get_requested_by(self, leave: Leave) -> str:
        return leave.requested_by.get_username() if leave.requested_by else services.BY_RESIDENT

    def get_decided_by(self, leave: Leave) -> str | None:
        return leave.decided_by.get_username() if leave.decided_by else None


def _leave(pk: Any) -> Leave:
    leave = Leave.objects.select_related("resident", "requested_by", "decided_by")
    found = leave.filter(pk=pk).first()
    if found is None:
        raise NotFound("No leave with that id.")
    return found


class LeaveListApi(APIView):
    parser_classes = [JSONParser]

    def get_permissions(self) -> list[Any]:
        needed = "leaves.view_leave" if self.request.method == "GET" else "leaves.add_leave"
        return [IsAuthenticated(), has_perm(needed)()]

    class FilterSerializer(serializers.Serializer):
        show = serializers.ChoiceField(choices=sorted(selectors.SHOWN), required=False)
        resident_id = serializers.UUIDField(required=False)

    @extend_schema_serializer(component_name="LeaveRequestInput")
    class InputSerializer(serializers.Serializer):
        resident_id = UUIDTextField()
        kind = serializers.ChoiceField(choices=Leave.Kind.choices)
        starts = MomentField(help_text="RFC 3339, with its offset.")
        ends = MomentField(help_text="RFC 3339, with its offset.")
        destination = TextField(max_length=200)
        reason = TextField(max_length=500, required=False, allow_blank=True, default="")

    @extend_schema(
        operation_id="leaves_list",
        parameters=[FilterSerializer],
        responses=paginated(LeaveOutputSerializer, "PaginatedLeaveList"),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        leaves: QuerySet[Leave] = selectors.leave_list(
            show=filters.validated_data.get("show", "all")
        )
        if "resident_id" in filters.validated_data:
            leaves = leaves.filter(resident_id=filters.validated_data["resident_id"])
        paginator = Pagination()
        page = paginator.paginate_queryset(leaves, request, view=self)
        return paginator.get_paginated_response(LeaveOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="leaves_create",
        request=InputSerializer,
        responses={
            201: LeaveOutputSerializer,
            404: OpenApiResponse(description="No resident with that id."),
            409: OpenApiResponse(
                description="overlapping_leave, too_many_pending, or inactive (moved out)."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        resident = Resident.objects.filter(pk=data.pop("resident_id")).first()
        if resident is None:
            raise NotFound("No resident with that id.")
        leave = services.leave_request(resident=resident, by=request.user, **data)
        return Response(
            LeaveOutputSerializer(_leave(leave.pk)).data, status=status.HTTP_201_CREATED
        )


class LeaveDetailApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("leaves.view_leave")]

    @extend_schema(
        responses={200: LeaveOutputSerializer, 404: OpenApiResponse(description="No such leave.")}
    )
    def get(self, request: Request, pk: str) -> Response:
        return Response(LeaveOutputSerializer(_leave(pk)).data)


class LeaveDecideApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("leaves.decide_leave")]
    parser_classes = [JSONParser]
    decision = "approve"

    @extend_schema_serializer(component_name="LeaveDecisionInput")
    class InputSerializer(serializers.Serializer):
        note = TextField(max_length=200, required=False, allow_blank=True, default="")

    @extend_schema(
        request=InputSerializer,
        responses={
            200: LeaveOutputSerializer,
            404: OpenApiResponse(description="No such leave."),
            409: OpenApiResponse(
                description="decided (already), ended (approving a leave that is over), or "
                "inactive (the resident moved out)."
            ),
        },
    )
    def post(self, request: Request, pk: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        decide = services.leave_approve if self.decision == "approve" else services.leave_refuse
        leave = decide(leave=_leave(pk), by=request.user, note=serializer.validated_data["note"])
        return Response(LeaveOutputSerializer(_leave(leave.pk)).data)
