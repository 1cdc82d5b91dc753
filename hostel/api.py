"""What every API endpoint shares: the error envelope, the code-to-status table, upload
fields, permissions, pagination. Imports no app: apps' errors reach it as DomainError.

Every error is JSON: {"error": {"code": "...", "message": "...", "fields": {...}}}, with
"fields" only for field errors. Never HTML, never a stack trace.
"""

import base64
import binascii
import functools
import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, set_rollback
from rest_framework.views import exception_handler as drf_exception_handler

from hostel.errors import DomainError
from hostel.pagination import CappedPaginator

log = logging.getLogger(__name__)
UNAVAILABLE = "The database is busy or unavailable; nothing was recorded. Try again."

# The one table from a domain error's code to its HTTP status. A code not listed is a 400.
ERROR_STATUS = {
    # the request names something wrong
    "invalid": 400,
    "invalid_mode": 400,
    "invalid_pass": 400,
    "no_pass": 400,
    "invalid_photo": 400,
    "invalid_voice": 400,
    "unknown_gate": 400,
    # a pass or person that may not pass
    "revoked_pass": 403,
    "inactive_resident": 403,
    # nobody (confidently) found
    "unknown_resident": 404,
    "not_found": 404,
    "not_enrolled": 404,
    "no_confident_match": 404,
    # the state says no
    "duplicate_scan": 409,
    "anti_passback": 409,
    "scan_id_reused": 409,
    "inactive": 409,
    "active": 409,
    "unchanged": 409,
    "duplicate_email": 409,
    "duplicate_face": 409,
    "overlapping_leave": 409,  # leaves
    "too_many_pending": 409,
    "checked_out": 409,  # visitors
    "decided": 409,
    "ended": 409,
    "invalid_link": 404,
    "no_checkpoint": 409,  # receipts and proofs (ledger.receipts)
    "not_in_checkpoint": 409,
    "proof_unavailable": 409,
    "archived": 410,
    # a photo or recording that holds no usable face or voice
    "no_face": 422,
    "several_faces": 422,
    "silence": 422,
    "noise": 422,
    "too_short": 422,
    # a face scan that did not show a live person (residents.biometrics.liveness)
    "not_live": 422,
    "wrong_direction": 422,
    "not_frontal": 422,
    "different_people": 422,
    "liveness_required": 400,
    "too_few_frames": 400,
    "too_many_frames": 400,
    "invalid_challenge": 400,
    "challenge_expired": 400,
    "challenge_used": 409,
    "invalid_file": 400,  # a spreadsheet of residents (residents.imports)
    "invalid_rows": 422,
    "different_faces": 422,  # enrolment samples that are not all one person's
    "different_voices": 422,
    # the server could not record it; nothing was recorded
    "ledger_busy": 503,
    "ledger_error": 503,
    "invalid_event": 503,
}


class ApiError(exceptions.APIException):
    """A refusal with a code and a message an API client (or guard) can act on."""

    def __init__(self, message: str, *, code: str, status_code: int = 400) -> None:
        super().__init__(message, code)
        self.status_code = status_code
        self.error_code = code


def error_body(code: str, message: str, fields: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler, set in REST_FRAMEWORK: every error in the one envelope.

    A view may add to a domain error's body with ``error_details(exc) -> dict`` (the scan
    API adds the resident a refusal concerns, so the guard sees their photo).
    """
    if isinstance(exc, DomainError):
        return _domain_error_response(exc, context.get("view"))
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, OperationalError):
        log.warning("database busy or unavailable: %s", exc)
        exc = ApiError(
            UNAVAILABLE,
            code="busy",
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        response.data = error_body(exc.error_code, str(exc.detail))
    elif isinstance(exc, exceptions.ValidationError):
        response.data = _validation_body(exc)
    elif isinstance(exc, exceptions.APIException):
        response.data = _api_exception_body(exc)
    return response


def _domain_error_response(exc: DomainError, view: APIView | None) -> Response:
    status_code = ERROR_STATUS.get(exc.code, status.HTTP_400_BAD_REQUEST)
    if status_code >= 500:
        level = logging.WARNING if exc.code == "ledger_busy" else logging.ERROR
        log.log(level, "a write was refused (%s): %s", exc.code, exc)
    set_rollback()  # as DRF's own handler does, should requests ever be atomic
    body = error_body(exc.code, str(exc))
    details = getattr(view, "error_details", None)
    if details is not None:
        body["error"].update(details(exc))
    return Response(body, status=status_code)


def _validation_body(exc: exceptions.ValidationError) -> dict[str, Any]:
    """Field errors under "fields"; the first one is the message. A field error raised
    with one of ERROR_STATUS's codes (e.g. "invalid_photo") gives the body its code."""
    fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
    first = next(iter(fields.values()), ["Invalid input."])
    detail = first[0] if isinstance(first, list) and first else first
    code = getattr(detail, "code", None)
    return error_body(code if code in ERROR_STATUS else "invalid", str(detail), fields)


def _api_exception_body(exc: exceptions.APIException) -> dict[str, Any]:
    detail = exc.detail
    if isinstance(detail, dict):  # e.g. simplejwt: {"detail": ..., "code": ...}
        message = str(detail.get("detail") or exc.default_detail)
        code = str(detail.get("code") or exc.default_code)
        reasons = detail.get("messages") or []
        first = reasons[0] if isinstance(reasons, list) and reasons else None
        if isinstance(first, dict) and first.get("message"):
            message = f"{first['message']}. Log in again for a new token."
    else:
        message, code = str(detail), str(getattr(detail, "code", exc.default_code))
    return error_body(code, message)


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("not_found", "No such API endpoint."), status=404)


def json_unavailable(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body("busy", UNAVAILABLE),
        status=503,
    )


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body("server_error", "Something went wrong on the server; nothing was changed."),
        status=500,
    )


class TextOnly:
    """For text fields of JSON input: a number or a boolean is refused, not turned into text
    (DRF's CharField takes 123 as "123", its UUIDField takes 12 as a UUID)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            raise serializers.ValidationError("Must be text (a JSON string).", code="invalid")
        return super().to_internal_value(data)  # type: ignore[misc]


class TextField(TextOnly, serializers.CharField):
    pass


class SlugTextField(TextOnly, serializers.SlugField):
    pass


class UUIDTextField(TextOnly, serializers.UUIDField):
    pass


class NumberedListField(serializers.ListField):
    """Several values under one name (a multipart part repeated, a JSON list); an error
    names the item by its number ("Photo 2: ..."), in the flat list of messages every other
    field's errors are."""

    def __init__(self, *, what: str, length_codes: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.what = what
        # Codes of ERROR_STATUS for too few and too many ("min_length", "max_length").
        self.length_codes = length_codes or {}

    def run_validation(self, data: Any = serializers.empty) -> Any:
        try:
            return super().run_validation(data)
        except serializers.ValidationError as exc:
            codes = exc.get_codes()
            first = codes[0] if isinstance(codes, list) and codes else None
            code = self.length_codes.get(first) if isinstance(first, str) else None
            if code is None:
                raise
            messages = [str(detail) for detail in exc.detail]
            raise serializers.ValidationError(messages, code=code) from None

    def to_internal_value(self, data: Any) -> list[Any]:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict):
                raise serializers.ValidationError(
                    [
                        f"{self.what.capitalize()} {int(n) + 1}: {message}"
                        for n, messages in exc.detail.items()
                        for message in messages
                    ]
                ) from None
            raise


@extend_schema_field(
    {"type": "string", "description": "A file (multipart), or a data URL (base64) in JSON."}
)
class UploadField(serializers.Field):
    """A file sent as a multipart part or as a data URL in JSON; the value is its bytes.

    Only the transport is checked here (a readable file, a well-formed data URL); what the
    bytes are is for the upload's own validation. ``code`` names the error ("invalid_photo").
    """

    def __init__(self, *, what: str, code: str, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.what, self.code, self.max_bytes = what, code, max_bytes

    def to_internal_value(self, data: Any) -> bytes:
        if isinstance(data, str) and data.startswith("data:"):
            try:
                return base64.b64decode(data.split(",", 1)[1], validate=True)
            except (IndexError, ValueError, binascii.Error):
                raise serializers.ValidationError(
                    f"The {self.what}'s data URL is damaged.", code=self.code
                ) from None
        if hasattr(data, "read"):
            return bytes(data.read(self.max_bytes + 1))
        raise serializers.ValidationError(self.missing_message, code=self.code)

    @property
    def missing_message(self) -> str:
        return f"A {self.what} is needed here: a file or a data URL."

    def to_representation(self, value: Any) -> Any:
        return None  # input only


def has_perm(permission: str) -> type[BasePermission]:
    """A DRF permission class requiring one Django permission (roles come from groups)."""

    class HasPermission(BasePermission):
        message = "Your role does not allow this."

        def has_permission(self, request: Request, view: APIView) -> bool:
            return bool(request.user and request.user.has_perm(permission))

    HasPermission.__name__ = f"Has_{permission.replace('.', '_')}"
    return HasPermission


class Pagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


class CappedPagination(Pagination):
    """Pages whose count stops at ``cap`` (hostel.pagination.CappedPaginator), for lists
    too long to count on every request; ``count_exact`` says whether ``count`` is every
    match or only the cap; ``next`` leads on past the cap while items remain."""

    def __init__(self, *, cap: int, known_count: int | None = None) -> None:
        self.django_paginator_class = functools.partial(  # type: ignore[assignment]
            CappedPaginator, cap=cap, known_count=known_count
        )

    def get_paginated_response(self, data: Any) -> Response:
        assert self.page is not None
        paginator = self.page.paginator
        assert isinstance(paginator, CappedPaginator)
        return Response(
            {
                "count": paginator.count,
                "count_exact": not paginator.capped,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )
