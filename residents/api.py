"""Residents and the gate over the REST API. One APIView per operation."""

import base64
import io

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from PIL import Image
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hostel.api import Pagination, error_body, has_perm
from residents import passes, selectors, services, uploads
from residents.media import protected_file_response
from residents.models import Resident
from residents.services import EDITABLE_FIELDS
from residents.views import pass_filename


def _normalised(normalise, upload):
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
            "status",
            "is_active",
            "moved_out_on",
            "pass_version",
            "created_at",
            "updated_at",
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

        def validate_photo(self, upload) -> uploads.Photo:
            return _normalised(uploads.photo_enrol, upload)

        def validate_voice(self, upload) -> uploads.Voice:
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
    def get(self, request: Request, pk: str) -> HttpResponse:
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
        response = HttpResponse(selectors.resident_pass_png(resident), content_type="image/png")
        response["Cache-Control"] = "private, no-store"
        response["Content-Disposition"] = f'attachment; filename="{pass_filename(resident)}"'
        return response


def scan_output(outcome: services.ScanOutcome, request: Request) -> dict:
    """The event (as its block recorded it) and the block's proof fields."""
    event = outcome.block.payload
    resident = outcome.resident
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
            "photo_url": _photo_url(resident, request),
        },
        "block": {
            "index": outcome.block.index,
            "timestamp": outcome.block.timestamp,
            "hash": outcome.block.hash,
            "signature": outcome.block.signature,
            "key_id": outcome.block.key_id,
        },
        "replayed": outcome.replayed,
        "distance": (
            None
            if outcome.distance is None or outcome.block.payload["mode"] != "face"
            else round(outcome.distance, 4)
        ),
        "similarity": (
            None
            if outcome.distance is None or outcome.block.payload["mode"] != "voice"
            else round(outcome.distance, 4)
        ),
    }


def _photo_url(resident: Resident | None, request: Request) -> str | None:
    if resident is None or not resident.photo:
        return None
    return request.build_absolute_uri(reverse("api-resident-photo", args=[resident.pk]))


def _upload_bytes(value: object, what: str) -> bytes:
    """An upload sent as a file or as a data URL."""
    if isinstance(value, str) and value.startswith("data:"):
        try:
            return base64.b64decode(value.split(",", 1)[1], validate=True)
        except (IndexError, ValueError):
            raise services.ScanRefused(
                f"The {what}'s data URL is damaged.", code=f"invalid_{what}", status=400
            ) from None
    if hasattr(value, "read"):
        return value.read(uploads.MAX_UPLOAD_BYTES + 1)
    raise services.ScanRefused(
        f"This scan needs a {what}: a file or a data URL.", code=f"invalid_{what}", status=400
    )


def _scan_voice(value: object):
    try:
        return uploads.voice_normalise(_upload_bytes(value, "voice")).samples
    except uploads.UploadError as exc:
        raise services.ScanRefused(str(exc), code="invalid_voice", status=400) from exc


def _voice_claim(data: dict):
    """The resident a voice scan claims to be (1:1): by id, or by their current pass."""
    if data.get("resident_id"):
        return data["resident_id"]
    if not data.get("token"):
        return None
    try:
        claim = passes.pass_read(data["token"])
    except passes.PassError as exc:
        raise services.ScanRefused(str(exc), code="invalid_pass", status=400) from exc
    resident = selectors.resident_get(claim.resident_id)
    if resident is not None and resident.pass_version != claim.version:
        raise services.ScanRefused(
            "This pass has been replaced by a newer one and no longer works.",
            code="revoked_pass",
            status=403,
            resident=resident,
        )
    return claim.resident_id


def _scan_photo(value: object) -> Image.Image:
    """The photo of a face scan, sent as a file or as a data URL; refused if not an image."""
    try:
        photo = uploads.photo_normalise(_upload_bytes(value, "photo"))
    except uploads.UploadError as exc:
        raise services.ScanRefused(str(exc), code="invalid_photo", status=400) from exc
    return Image.open(io.BytesIO(photo.jpeg))


class ScanApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("residents.record_scan")]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        mode = serializers.ChoiceField(choices=["qr", "manual", "face", "voice"])
        token = serializers.CharField(required=False, allow_blank=True, max_length=1000)
        resident_id = serializers.UUIDField(required=False)
        gate = serializers.SlugField(required=False, default="main", max_length=40)
        scan_id = serializers.UUIDField(required=False)

    @extend_schema(request=InputSerializer, responses={201: dict})
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        gate = selectors.gate_list().filter(slug=data["gate"]).first()
        if gate is None:
            return Response(
                error_body("unknown_gate", f"There is no active gate {data['gate']!r}."),
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            if data["mode"] == "voice":
                outcome = services.voice_scan_record(
                    by=request.user,
                    gate=gate,
                    samples=_scan_voice(request.data.get("voice")),
                    claimed=_voice_claim(data),
                    scan_id=data.get("scan_id"),
                )
            elif data["mode"] == "face":
                outcome = services.face_scan_record(
                    by=request.user,
                    gate=gate,
                    image=_scan_photo(request.data.get("photo")),
                    scan_id=data.get("scan_id"),
                )
            else:
                outcome = services.scan_record(
                    by=request.user,
                    gate=gate,
                    mode=data["mode"],
                    token=data.get("token", ""),
                    resident_id=data.get("resident_id"),
                    scan_id=data.get("scan_id"),
                )
        except services.ScanRefused as refusal:
            body = error_body(refusal.code, str(refusal))
            if refusal.resident is not None:
                body["error"]["resident"] = {
                    "id": str(refusal.resident.pk),
                    "name": refusal.resident.name,
                    "room": refusal.resident.room,
                    "status": refusal.resident.status,
                    "photo_url": _photo_url(refusal.resident, request),
                }
            return Response(body, status=refusal.status)
        return Response(scan_output(outcome, request), status=status.HTTP_201_CREATED)


class OccupancyApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("residents.view_resident")]

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        counts = selectors.occupancy()
        inside = selectors.residents_inside().values("id", "name", "room")
        return Response({**counts, "residents_in": list(inside)})
