"""The gate over the REST API: record a scan (QR, manual, face, voice), and who is in."""

import io
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from PIL import Image
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hostel.api import (
    NumberedListField,
    SlugTextField,
    TextField,
    UploadField,
    UUIDTextField,
    has_perm,
)
from hostel.parsers import UploadJSONParser
from ledger.models import Block
from residents import biometric_scans, scan_hooks, scan_selectors, scans, selectors, uploads
from residents.biometrics import liveness
from residents.errors import ScanRefused
from residents.models import Resident, ScanMode


class ScanEventSerializer(serializers.Serializer):
    resident_id = serializers.UUIDField()
    resident_name = serializers.CharField()
    room = serializers.CharField()
    status = serializers.ChoiceField(choices=Resident.Status.choices)
    mode = serializers.ChoiceField(choices=ScanMode.choices)
    gate = serializers.SlugField()
    by = serializers.CharField()
    at = serializers.CharField(help_text="The block's timestamp (RFC 3339, UTC).")
    photo_url = serializers.URLField(allow_null=True)


class BlockProofSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    timestamp = serializers.CharField()
    hash = serializers.CharField()
    signature = serializers.CharField()
    key_id = serializers.CharField()


class ScanNoteSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=["info", "warning"])
    message = serializers.CharField()


class ScanOutputSerializer(serializers.Serializer):
    event = ScanEventSerializer()
    notes = ScanNoteSerializer(
        many=True,
        help_text="For the guard, beside IN or OUT: an approved leave, a late return, an exit "
        "after curfew without leave (a warning).",
    )
    block = BlockProofSerializer()
    replayed = serializers.BooleanField(help_text="A retry of a scan id already recorded.")
    distance = serializers.FloatField(allow_null=True, help_text="Face scans: lower is closer.")
    similarity = serializers.FloatField(allow_null=True, help_text="Voice scans: higher is closer.")
    frame = serializers.IntegerField(
        allow_null=True,
        help_text="Face scans sent as frames: which one (from 0) was identified, the one facing "
        "the camera where a live person is asked, else the first; null for a single photo and "
        "for other scans.",
    )


class OccupantSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    room = serializers.CharField()


class OccupancyOutputSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    inside = serializers.IntegerField()
    outside = serializers.IntegerField(help_text="Whose last scan was an exit.")
    unknown = serializers.IntegerField(help_text="Never scanned yet: no status.")
    residents_in = OccupantSerializer(many=True)


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
        "block": block_proof(outcome.block),
        "notes": [
            {"level": note.level, "message": note.message} for note in scan_hooks.notes(event)
        ],
        "replayed": outcome.replayed,
        # A face's distance or a voice's similarity, under its own name.
        "distance": round(score.value, 4) if score and score.kind == "distance" else None,
        "similarity": round(score.value, 4) if score and score.kind == "similarity" else None,
        # Of a face scan's frames, the one identified (0-based), else null.
        "frame": outcome.frame,
    }


def block_proof(block: Block) -> dict[str, Any]:
    """What a scan's answer says of its block: where it is, and its hash and signature."""
    return {
        "index": block.index,
        "timestamp": block.timestamp,
        "hash": block.hash,
        "signature": block.signature,
        "key_id": block.key_id,
    }


def _photo_url(resident: Resident | None, request: Request) -> str | None:
    if resident is None or not resident.photo:
        return None
    return request.build_absolute_uri(reverse("api-resident-photo", args=[resident.pk]))


class ScanApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("residents.record_scan")]
    parser_classes = [UploadJSONParser, MultiPartParser]

    @extend_schema_serializer(component_name="ScanInput")
    class InputSerializer(serializers.Serializer):
        mode = serializers.ChoiceField(choices=ScanMode.choices)
        token = TextField(required=False, allow_blank=True, max_length=1000)
        resident_id = UUIDTextField(required=False)
        gate = SlugTextField(
            required=False,
            max_length=40,
            help_text="The gate's slug; without it, the gate marked as the default.",
        )
        scan_id = UUIDTextField(required=False)
        photo = UploadField(
            what="photo", code="invalid_photo", max_bytes=uploads.MAX_UPLOAD_BYTES, required=False
        )
        voice = UploadField(
            what="voice", code="invalid_voice", max_bytes=uploads.MAX_UPLOAD_BYTES, required=False
        )
        frames = NumberedListField(
            what="frame",
            child=UploadField(
                what="frame", code="invalid_photo", max_bytes=uploads.MAX_UPLOAD_BYTES
            ),
            required=False,
            min_length=liveness.MIN_FRAMES,
            max_length=liveness.MAX_FRAMES,
            length_codes={"min_length": "too_few_frames", "max_length": "too_many_frames"},
            help_text="Face, at a gate that checks for a live person: 2 to 8 stills (files or "
            "data URLs) taken while the resident looks at the camera and turns their head as "
            "the challenge asked.",
        )
        challenge = TextField(
            required=False,
            max_length=200,
            help_text="Face, with frames: the challenge from GET /api/scan/challenge.",
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            needs = {ScanMode.FACE: "photo", ScanMode.VOICE: "voice"}.get(attrs["mode"])
            if needs == "photo" and "frames" in attrs and "photo" in attrs:
                raise serializers.ValidationError(
                    {"photo": ["Send one photo or the frames of the head turning, not both."]},
                    code="invalid_photo",
                )
            if needs == "photo" and "frames" in attrs:
                return attrs
            if needs == "photo" and attrs.get("challenge"):
                raise serializers.ValidationError(
                    {"frames": ["With a challenge, send the frames of the head turning."]},
                    code="invalid_photo",
                )
            if needs and needs not in attrs:
                field = self.fields[needs]
                assert isinstance(field, UploadField)
                raise serializers.ValidationError({needs: [field.missing_message]}, code=field.code)
            return attrs

    @extend_schema(
        request=InputSerializer,
        responses={
            201: ScanOutputSerializer,
            403: OpenApiResponse(description="A replaced pass, or a resident who moved out."),
            404: OpenApiResponse(description="Nobody registered, enrolled or confidently matched."),
            409: OpenApiResponse(description="A repeat, anti-passback, or a reused scan id."),
            422: OpenApiResponse(description="No usable face or voice in the sample."),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        gate = scans.gate_for_scan(data.get("gate"))
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
            outcome = biometric_scans.face_scan_record(
                by=request.user,
                gate=gate,
                image=_image(data["photo"]) if "photo" in data else None,
                frames=[
                    _image(frame, f"Frame {number}: ", max_side=FRAME_MAX_SIDE)
                    for number, frame in enumerate(data.get("frames", []), 1)
                ],
                challenge=data.get("challenge", ""),
                scan_id=data.get("scan_id"),
            )
        else:
            other = data["mode"] == ScanMode.QR and scan_hooks.pass_answer(
                data.get("token", "").strip(), request.user, gate, data.get("scan_id")
            )
            if other:  # a code of another app's (a visitor's day pass)
                return Response(other, status=status.HTTP_201_CREATED)
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
        """A refusal names who it was, where known, so the guard sees their photo. A face no
        one matched names, to a user who may change residents, the active resident it came
        closest to within the same-person limit, where to add the photo if it is them."""
        details: dict[str, Any] = {}
        if isinstance(exc, ScanRefused) and exc.frame is not None:
            details["frame"] = exc.frame
        resident = getattr(exc, "resident", None)
        if resident is not None:
            details["resident"] = {
                "id": str(resident.pk),
                "name": resident.name,
                "room": resident.room,
                "status": resident.status,
                "photo_url": _photo_url(resident, self.request),
            }
        closest = getattr(exc, "closest", None)
        if closest is not None and self.request.user.has_perm("residents.change_resident"):
            details["closest"] = {
                "id": str(closest.pk),
                "name": closest.name,
                "room": closest.room,
                "photo_url": _photo_url(closest, self.request),
                "distance": round(exc.distance, 4),  # type: ignore[attr-defined]
                "add_photo_url": self.request.build_absolute_uri(
                    reverse("api-resident-samples", args=[closest.pk])
                ),
            }
        return details


# A live-person scan's frames are brought down to this before their faces are looked for:
# the scan page sends 480 px; a client sending 40-megapixel frames made a scan take 10 s
# and more (every frame located, a large face the slow way), a way to tie up the server.
FRAME_MAX_SIDE = 640


def _image(
    upload: bytes, which: str = "", *, max_side: int = uploads.PHOTO_MAX_SIDE
) -> Image.Image:
    """An uploaded photo or frame, normalised to at most ``max_side`` pixels (refused as
    invalid_photo when it is none; ``which`` names it in the message)."""
    try:
        return Image.open(io.BytesIO(uploads.photo_normalise(upload, max_side=max_side).jpeg))
    except uploads.UploadError as exc:
        raise uploads.UploadError(exc.code, f"{which}{exc}") from exc


class ScanChallengeApi(APIView):
    """What a face scan at a gate that checks for a live person must show: the resident
    turning their head one way, chosen here at random. Good for one scan, within 60 s."""

    permission_classes = [IsAuthenticated, has_perm("residents.record_scan")]

    @extend_schema_serializer(component_name="ScanChallengeOutput")
    class OutputSerializer(serializers.Serializer):
        challenge = serializers.CharField(help_text="Send it back with the frames.")
        direction = serializers.ChoiceField(
            choices=["left", "right"], help_text="The resident's own left or right."
        )
        expires_in = serializers.IntegerField(help_text="Seconds it stays good.")

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        challenge, direction = biometric_scans.liveness_challenge()
        output = {
            "challenge": challenge,
            "direction": direction,
            "expires_in": biometric_scans.CHALLENGE_SECONDS,
        }
        response = Response(self.OutputSerializer(output).data)
        response["Cache-Control"] = "no-store"
        return response


class OccupancyApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("residents.view_resident")]

    @extend_schema(responses=OccupancyOutputSerializer)
    def get(self, request: Request) -> Response:
        counts = selectors.occupancy()
        inside = scan_selectors.residents_inside().values("id", "name", "room")
        return Response({**counts, "residents_in": list(inside)})
