"""Visitors over the REST API: guards and wardens let visitors in and out, with day passes."""

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hostel.api import Pagination, TextField, UploadField, UUIDTextField, has_perm
from hostel.parsers import UploadJSONParser
from hostel.schema import paginated
from residents import uploads
from residents.models import Resident
from visitors import passes, selectors, services
from visitors.models import Visitor


class VisitorOutputSerializer(serializers.ModelSerializer):
    host_resident_id = serializers.UUIDField(source="host.pk")
    host_name = serializers.CharField(source="host.name")
    room = serializers.CharField(source="host.room")
    inside = serializers.BooleanField()
    day_pass = serializers.SerializerMethodField()

    class Meta:
        model = Visitor
        fields = [
            "id", "name", "phone", "host_resident_id", "host_name", "room", "expected_until",
            "checked_in_at", "checked_out_at", "inside", "day_pass",
        ]  # fmt: skip

    def get_day_pass(self, visitor: Visitor) -> dict[str, str] | None:
        """The pass's token and QR image, while its day lasts."""
        day = visitor.pass_day()
        if day is None:
            return None
        request = self.context["request"]
        return {
            "token": passes.visitor_pass_token(visitor.pk, day),
            "valid_on": day.isoformat(),
            "qr_url": request.build_absolute_uri(reverse("visitors:qr", args=[visitor.pk])),
        }


def _visitor(pk: Any) -> Visitor:
    visitor = Visitor.objects.select_related("host").filter(pk=pk).first()
    if visitor is None:
        raise NotFound("No visitor with that id.")
    return visitor


class VisitorListApi(APIView):
    parser_classes = [UploadJSONParser, MultiPartParser]

    def get_permissions(self) -> list[Any]:
        needed = "visitors.view_visitor" if self.request.method == "GET" else "visitors.add_visitor"
        return [IsAuthenticated(), has_perm(needed)()]

    class FilterSerializer(serializers.Serializer):
        show = serializers.ChoiceField(choices=["inside", "today"], required=False)

    @extend_schema_serializer(component_name="VisitorCheckInInput")
    class InputSerializer(serializers.Serializer):
        name = TextField(max_length=120)
        phone = TextField(max_length=24)
        host_resident_id = UUIDTextField()
        hours = serializers.FloatField(
            required=False, default=2.0, min_value=0.25, max_value=services.MAX_HOURS
        )
        photo = UploadField(
            what="photo", code="invalid_photo", max_bytes=uploads.MAX_UPLOAD_BYTES, required=False
        )

        def validate_photo(self, upload: bytes) -> uploads.Photo:
            try:
                return uploads.photo_normalise(upload)
            except uploads.UploadError as exc:
                raise serializers.ValidationError(str(exc), code="invalid_photo") from exc

    @extend_schema(
        operation_id="visitors_list",
        parameters=[FilterSerializer],
        responses=paginated(VisitorOutputSerializer, "PaginatedVisitorList"),
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        show = filters.validated_data.get("show", "inside")
        visitors = selectors.visitors_inside() if show == "inside" else selectors.visitors_today()
        paginator = Pagination()
        page = paginator.paginate_queryset(visitors, request, view=self)
        output = VisitorOutputSerializer(page, many=True, context={"request": request})
        return paginator.get_paginated_response(output.data)

    @extend_schema(
        operation_id="visitors_create",
        request=InputSerializer,
        responses={
            201: VisitorOutputSerializer,
            404: OpenApiResponse(description="No resident with that id."),
            409: OpenApiResponse(description="inactive: the host moved out."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        host = Resident.objects.filter(pk=data.pop("host_resident_id")).first()
        if host is None:
            raise NotFound("No resident with that id.")
        visitor = services.visitor_check_in(
            host=host, photo=data.pop("photo", None), by=request.user, **data
        )
        output = VisitorOutputSerializer(_visitor(visitor.pk), context={"request": request})
        return Response(output.data, status=status.HTTP_201_CREATED)


class VisitorCheckOutApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("visitors.change_visitor")]

    @extend_schema(
        request=None,
        responses={
            200: VisitorOutputSerializer,
            404: OpenApiResponse(description="No such visitor."),
            409: OpenApiResponse(description="checked_out: already."),
        },
    )
    def post(self, request: Request, pk: str) -> Response:
        visitor = services.visitor_check_out(visitor=_visitor(pk), by=request.user)
        return Response(VisitorOutputSerializer(visitor, context={"request": request}).data)
