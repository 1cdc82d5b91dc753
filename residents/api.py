"""Residents and the gate over the REST API. One APIView per operation."""

import io
from collections.abc import Callable
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, HttpResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from PIL import Image
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hostel.api import Pagination, UploadField, has_perm
from hostel.parsers import JSONParser, UploadJSONParser
from residents import biometric_scans, scan_selectors, scans, selectors, services, uploads
from residents.media import pass_download_response, protected_file_response
from residents.models import Resident, ScanMode
from residents.services import EDITABLE_FIELDS, RECORDED_FIELDS


def _normalised(normalise: Callable[[uploads.Upload], Any], upload: UploadedFile) -> Any:
    try:
        return normalise(upload)
    except uploads.UploadError as exc:
        raise serializers.ValidationError(str(exc)) from exc


class ResidentOutputSerializer(serializers.ModelSerializer):
    photo_url = serializers.SerializerMethodField()
    pass_url = serializers.SerializerMethodField()
    has_voice_sample = serializers.SerializerMethodField()

    class Meta:
        model = Resident
        fields = [
            "id",
            *EDITABLE_FIELDS,
            *RECORDED_FIELDS,
            "photo_url",
            "pass_url",
            "has_voice_sample",
        ]

    def get_photo_url(self, resident: Resident) -> str | None:
        if not resident.photo:
            return None
        return self.context["request"].build_absolute_uri(
            reverse("api-resident-photo", args=[resident.pk])
        )

    def get_pass_url(self, resident: Resident) -> str | None:
        if not resident.is_active:
            return None
        return self.context["request"].build_absolute_uri(
            reverse("api-resident-pass", args=[resident.pk])
        )

    def get_has_voice_sample(self, resident: Resident) -> bool:
        return bool(resident.voice_sample)


class ResidentRegisterApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("residents.add_resident")]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        room = serializers.CharField(max_length=20)
        floor = serializers.IntegerField(
            required=False, allow_null=True, min_value=-10, max_value=300
        )
        email = serializers.EmailField(required=False, allow_blank=True)
        phone = serializers.CharField(required=False, allow_blank=True, max_length=24)
        address = serializers.CharField(required=False, allow_blank=True, max_length=500)
        move_in_date = serializers.DateField(required=False, allow_null=True)
        occupation = serializers.CharField(required=False, allow_blank=True, max_length=120)
        emergency_contact = serializers.CharField(required=False, allow_blank=True, max_length=200)
        photo = serializers.FileField(required=False)
        voice = serializers.FileField(required=False)

        def validate_photo(self, upload: UploadedFile) -> uploads.Photo:
            return _normalised(uploads.photo_enrol, upload)

        def validate_voice(self, upload: UploadedFile) -> uploads.Voice:
            return _normalised(uploads.voice_enrol, upload)

    @extend_schema(request=InputSerializer, responses={201: ResidentOutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        resident = services.resident_register(by=request.user, **serializer.validated_data)
        output = ResidentOutputSerializer(resident, context={"request": request})
        return Response(output.data, status=status.HTTP_201_CREATED)


class ResidentListApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("residents.view_resident")]

    class FilterSerializer(serializers.Serializer):
        search = serializers.CharField(required=False, allow_blank=True, max_length=100)
        status = serializers.ChoiceField(choices=Resident.Status.choices, required=False)
        room = serializers.CharField(required=False, allow_blank=True, max_length=20)
        floor = serializers.IntegerField(required=False, min_value=-10, max_value=300)
        active = serializers.ChoiceField(choices=["true", "false", "all"], required=False)
        order = serializers.ChoiceField(choices=sorted(selectors.ORDERINGS), required=False)

    @extend_schema(parameters=[FilterSerializer], responses=ResidentOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        active = {"true": True, "false": False, "all": None}[data.pop("active", "true")]
        residents = selectors.resident_list(active=active, **data)
        paginator = Pagination()
        page = paginator.paginate_queryset(residents, request, view=self)
        output = ResidentOutputSerializer(page, many=True, context={"request": request})
        return paginator.get_paginated_response(output.data)


class ResidentDetailApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("residents.view_resident")]

    @extend_schema(responses=ResidentOutputSerializer)
    def get(self, request: Request, pk: str) -> Response:
        resident = selectors.resident_get(pk)
        if resident is None:
            raise NotFound("No resident with that id.")
        return Response(ResidentOutputSerializer(resident, context={"request": request}).data)


class ResidentPhotoApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("residents.view_resident")]

    @extend_schema(responses={(200, "image/jpeg"): bytes})
    def get(self, request: Request, pk: str) -> HttpResponse | FileResponse:
        resident = selectors.resident_get(pk)
        if resident is None or not resident.photo:
            raise NotFound("This resident has no photo.")
        return protected_file_response(resident.photo.name, "image/jpeg")


class ResidentPassApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("residents.view_resident")]

    @extend_schema(responses={(200, "image/png"): bytes})
    def get(self, request: Request, pk: str) -> HttpResponse:
        resident = selectors.resident_get(pk)
        if resident is None or not resident.is_active:
            raise NotFound("No active resident with that id.")
        return pass_download_response(resident)


def scan_output(outcome: scans.ScanOutcome, request: Request) -> dict[str, Any]:
    """The event (as its block recorded it) and the block's proof fields."""
    event = outcome.block.payload
    score = outcome.score
    return {
        "event": {
            "resident_id": event["resident_id"],
            "resident_name": event["resident_name"],
            "room": event["room"],
            "status": event["status"],
            "mode": event["mode"],
            "gate": event["gate"],
            "by": event["by"],
            "at": outcome.block.timestamp,
            "photo_url": _photo_url(outcome.resident, request),
        },
        "block": {
            "index": outcome.block.index,
            "timestamp": outcome.block.timestamp,
            "hash": outcome.block.hash,
            "signature": outcome.block.signature,
            "key_id": outcome.block.key_id,
        },
        "replayed": outcome.replayed,
        # A face's distance or a voice's similarity, under its own name.
        "distance": round(score.value, 4) if score and score.kind == "distance" else None,
        "similarity": round(score.value, 4) if score and score.kind == "similarity" else None,
    }


def _photo_url(resident: Resident | None, request: Request) -> str | None:
    if resident is None or not resident.photo:
        return None
    return request.build_absolute_uri(reverse("api-resident-photo", args=[resident.pk]))


class ScanApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("residents.record_scan")]
    parser_classes = [UploadJSONParser, MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        mode = serializers.ChoiceField(choices=ScanMode.choices)
        token = serializers.CharField(required=False, allow_blank=True, max_length=1000)
        resident_id = serializers.UUIDField(required=False)
        gate = serializers.SlugField(required=False, default="main", max_length=40)
        scan_id = serializers.UUIDField(required=False)
        photo = UploadField(
            what="photo", code="invalid_photo", max_bytes=uploads.MAX_UPLOAD_BYTES, required=False
        )
        voice = UploadField(
            what="voice", code="invalid_voice", max_bytes=uploads.MAX_UPLOAD_BYTES, required=False
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            needs = {ScanMode.FACE: "photo", ScanMode.VOICE: "voice"}.get(attrs["mode"])
            if needs and needs not in attrs:
                field = self.fields[needs]
                assert isinstance(field, UploadField)
                raise serializers.ValidationError({needs: [field.missing_message]}, code=field.code)
            return attrs

    @extend_schema(request=InputSerializer, responses={201: dict})
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        gate = scans.gate_for_scan(data["gate"])
        if data["mode"] == ScanMode.VOICE:
            outcome = biometric_scans.voice_scan_record(
                by=request.user,
                gate=gate,
                samples=uploads.voice_normalise(data["voice"]).samples,
                claimed=data.get("resident_id"),
                token=data.get("token", ""),
                scan_id=data.get("scan_id"),
            )
        elif data["mode"] == ScanMode.FACE:
            photo = uploads.photo_normalise(data["photo"])
            outcome = biometric_scans.face_scan_record(
                by=request.user,
                gate=gate,
                image=Image.open(io.BytesIO(photo.jpeg)),
                scan_id=data.get("scan_id"),
            )
        else:
            outcome = scans.scan_record(
                by=request.user,
                gate=gate,
                mode=data["mode"],
                token=data.get("token", ""),
                resident_id=data.get("resident_id"),
                scan_id=data.get("scan_id"),
            )
        return Response(scan_output(outcome, request), status=status.HTTP_201_CREATED)

    def error_details(self, exc: Exception) -> dict[str, Any]:
        """A refusal names who it was, where known, so the guard sees their photo."""
        resident = getattr(exc, "resident", None)
        if resident is None:
            return {}
        return {
            "resident": {
                "id": str(resident.pk),
                "name": resident.name,
                "room": resident.room,
                "status": resident.status,
                "photo_url": _photo_url(resident, self.request),
            }
        }


class OccupancyApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("residents.view_resident")]

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        counts = selectors.occupancy()
        inside = scan_selectors.residents_inside().values("id", "name", "room")
        return Response({**counts, "residents_in": list(inside)})
