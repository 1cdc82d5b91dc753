"""Residents and the gate over the REST API. One APIView per operation."""

from collections.abc import Callable
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hostel.api import NumberedListField, Pagination, UploadField, has_perm
from hostel.parsers import JSONParser, UploadJSONParser
from hostel.schema import paginated
from residents import imports, selectors, services, uploads
from residents.forms import IMPORT_BYTES_MAX
from residents.media import pass_download_response, protected_file_response
from residents.models import Resident
from residents.services import EDITABLE_FIELDS, RECORDED_FIELDS


def _normalised(normalise: Callable[[uploads.Upload], Any], upload: UploadedFile | bytes) -> Any:
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
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema_serializer(component_name="ResidentRegisterInput")
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
        guardian_email = serializers.EmailField(required=False, allow_blank=True)
        photo = NumberedListField(
            child=serializers.FileField(),
            what="photo",
            required=False,
            max_length=services.FACE_SAMPLES_MAX,
            help_text=f"1 to {services.FACE_SAMPLES_MAX} photos of the face (repeat the part); "
            "the first is the one shown at the gate. Refused with 422 different_faces unless "
            "all are one person.",
        )
        voice = NumberedListField(
            child=serializers.FileField(),
            what="voice recording",
            required=False,
            max_length=services.VOICE_SAMPLES_MAX,
            help_text=f"1 to {services.VOICE_SAMPLES_MAX} voice recordings (repeat the part).",
        )
        same_face_confirmed = serializers.BooleanField(
            required=False,
            default=False,
            help_text="Register even though the photo looks like an active resident's face "
            "(refused with 409 duplicate_face otherwise, naming that resident).",
        )

        def validate_photo(self, files: list[UploadedFile]) -> list[uploads.Photo]:
            return [_normalised(uploads.photo_enrol, upload) for upload in files]

        def validate_voice(self, files: list[UploadedFile]) -> list[uploads.Voice]:
            return [_normalised(uploads.voice_enrol, upload) for upload in files]

    @extend_schema(
        request=InputSerializer,
        responses={
            201: ResidentOutputSerializer,
            409: OpenApiResponse(
                description="duplicate_email, or duplicate_face (with the resident it looks like)."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data["photos"], data["voices"] = data.pop("photo", []), data.pop("voice", [])
        resident = services.resident_register(by=request.user, **data)
        output = ResidentOutputSerializer(resident, context={"request": request})
        return Response(output.data, status=status.HTTP_201_CREATED)

    def error_details(self, exc: Exception) -> dict[str, Any]:
        return _twin_details(exc, self.request)


def _twin_details(exc: Exception, request: Request) -> dict[str, Any]:
    """A duplicate face names the resident it looks like, with their photo."""
    twin = getattr(exc, "resident", None)
    if twin is None:
        return {}
    output = ResidentOutputSerializer(twin, context={"request": request})
    fields = ("id", "name", "room", "photo_url")
    return {"resident": {field: output.data[field] for field in fields}}


class ResidentSampleApi(APIView):
    """One more photo or voice recording for a resident's enrolment: after a genuine face
    scan the gate refused, say, so that the gate knows the resident better."""

    permission_classes = [IsAuthenticated, has_perm("residents.change_resident")]
    parser_classes = [UploadJSONParser, MultiPartParser]

    @extend_schema_serializer(component_name="ResidentSampleInput")
    class InputSerializer(serializers.Serializer):
        photo = UploadField(
            what="photo", code="invalid_photo", max_bytes=uploads.MAX_UPLOAD_BYTES, required=False
        )
        voice = UploadField(
            what="voice recording",
            code="invalid_voice",
            max_bytes=uploads.MAX_UPLOAD_BYTES,
            required=False,
        )
        same_face_confirmed = serializers.BooleanField(required=False, default=False)

        def validate_photo(self, upload: bytes) -> uploads.Photo:
            return _normalised(uploads.photo_enrol, upload)

        def validate_voice(self, upload: bytes) -> uploads.Voice:
            return _normalised(uploads.voice_enrol, upload)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if ("photo" in attrs) == ("voice" in attrs):
                raise serializers.ValidationError("Send one photo or one voice recording.")
            return attrs

    @extend_schema_serializer(component_name="ResidentSamplesOutput")
    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        photos = serializers.IntegerField(help_text="Photos the resident is enrolled with.")
        voice_recordings = serializers.IntegerField()

    @extend_schema(
        request=InputSerializer,
        responses={
            201: OutputSerializer,
            409: OpenApiResponse(description="duplicate_face: another resident's face."),
            422: OpenApiResponse(
                description="no_face, several_faces, silence…, or different_faces / "
                "different_voices: not this resident's (compared with their other samples)."
            ),
        },
    )
    def post(self, request: Request, pk: str) -> Response:
        resident = selectors.resident_get(pk)
        if resident is None:
            raise NotFound("No resident with that id.")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        resident = services.resident_sample_add(
            resident=resident, by=request.user, **serializer.validated_data
        )
        counts = selectors.sample_counts(resident)
        output = {"id": resident.pk, "photos": counts["face"], "voice_recordings": counts["voice"]}
        return Response(self.OutputSerializer(output).data, status=status.HTTP_201_CREATED)

    def error_details(self, exc: Exception) -> dict[str, Any]:
        return _twin_details(exc, self.request)


class ResidentImportApi(APIView):
    """Residents from a CSV or XLSX file (residents.imports): every row checked first; with
    ``dry_run`` the rows and their problems come back and nothing is written, without it all
    are registered (each a register block) or, when one row has a problem, none (422)."""

    permission_classes = [IsAuthenticated, has_perm("residents.add_resident")]
    parser_classes = [UploadJSONParser, MultiPartParser]

    @extend_schema_serializer(component_name="ResidentImportInput")
    class InputSerializer(serializers.Serializer):
        file = UploadField(
            what="CSV or XLSX file", code="invalid_file", max_bytes=IMPORT_BYTES_MAX,
            help_text="The first row names the columns: name and room, and any of floor, "
            "email, phone, address, move_in_date (YYYY-MM-DD), occupation, emergency_contact, "
            "guardian_email.",
        )  # fmt: skip
        dry_run = serializers.BooleanField(
            required=False, default=False, help_text="Check and preview; write nothing."
        )

    @extend_schema_serializer(component_name="ResidentImportPreview")
    class PreviewSerializer(serializers.Serializer):
        dry_run = serializers.BooleanField()
        valid = serializers.IntegerField(help_text="Rows without problems.")
        invalid = serializers.IntegerField()
        ignored_columns = serializers.ListField(child=serializers.CharField())
        rows = serializers.ListField(
            child=serializers.DictField(),
            help_text="Each row: row (as a spreadsheet numbers it; the column names are 1), "
            'its cells by column, and errors: what is wrong, by column ("row": the row as a '
            "whole), {} if nothing.",
        )

    @extend_schema_serializer(component_name="ResidentImportResult")
    class ResultSerializer(serializers.Serializer):
        imported = serializers.IntegerField()
        residents = serializers.ListField(child=serializers.DictField())

    @extend_schema(
        request=InputSerializer,
        responses={
            200: PreviewSerializer,
            201: ResultSerializer,
            400: OpenApiResponse(description="invalid_file: not a spreadsheet of residents."),
            422: OpenApiResponse(description="invalid_rows, with the rows that have problems."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sheet = imports.sheet_read(serializer.validated_data["file"])
        if serializer.validated_data["dry_run"]:
            preview = {
                "dry_run": True,
                "valid": len(sheet.rows) - len(sheet.problems),
                "invalid": len(sheet.problems),
                "ignored_columns": sheet.ignored,
                "rows": [row.as_dict() for row in sheet.rows],
            }
            return Response(self.PreviewSerializer(preview).data)
        registered = imports.sheet_import(sheet, by=request.user)
        residents = [
            {"row": row.number, "id": str(resident.pk), "name": resident.name,
             "room": resident.room}
            for row, resident in zip(sheet.rows, registered, strict=True)
        ]  # fmt: skip
        result = {"imported": len(registered), "residents": residents}
        return Response(self.ResultSerializer(result).data, status=status.HTTP_201_CREATED)

    def error_details(self, exc: Exception) -> dict[str, Any]:
        rows = getattr(exc, "rows", None)
        return {"rows": [row.as_dict() for row in rows]} if rows else {}


class ResidentListApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("residents.view_resident")]

    class FilterSerializer(serializers.Serializer):
        search = serializers.CharField(required=False, allow_blank=True, max_length=100)
        status = serializers.ChoiceField(choices=Resident.Status.choices, required=False)
        room = serializers.CharField(required=False, allow_blank=True, max_length=20)
        floor = serializers.IntegerField(required=False, min_value=-10, max_value=300)
        active = serializers.ChoiceField(choices=["true", "false", "all"], required=False)
        order = serializers.ChoiceField(choices=sorted(selectors.ORDERINGS), required=False)

    @extend_schema(
        operation_id="residents_list",
        parameters=[FilterSerializer],
        responses=paginated(ResidentOutputSerializer, "PaginatedResidentList"),
    )
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
