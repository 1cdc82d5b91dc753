"""What every API endpoint shares: the error envelope, permissions, pagination.

Every error is JSON: {"error": {"code": "...", "message": "...", "fields": {...}}}, with
"fields" only for field errors. Never HTML, never a stack trace.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ledger.services import LedgerBusyError, LedgerError

log = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """A refusal with a code and a message an API client (or guard) can act on."""

    def __init__(self, message: str, *, code: str, status_code: int = 400) -> None:
        super().__init__(message, code)
        self.status_code = status_code
        self.error_code = code


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def exception_handler(exc: Exception, context: dict) -> Response | None:
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
            "The database is busy or unavailable; nothing was recorded. Try again.",
            code="busy",
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    elif isinstance(exc, LedgerBusyError):
        exc = ApiError(
            "The ledger is busy; nothing was recorded. Try again.",
            code="ledger_busy",
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    elif isinstance(exc, LedgerError):
        log.error("ledger refused a write: %s", exc)
        exc = ApiError(
            "The ledger refused the write; nothing was recorded. Staff must run verify_chain.",
            code="ledger_error",
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        response.data = error_body(exc.error_code, str(exc.detail))
    elif isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        first = next(iter(fields.values()), ["Invalid input."])
        message = str(first[0]) if isinstance(first, list) and first else str(first)
        response.data = error_body("invalid", message, fields)
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        if isinstance(detail, dict):  # e.g. simplejwt: {"detail": ..., "code": ...}
            message = str(detail.get("detail") or exc.default_detail)
            code = str(detail.get("code") or exc.default_code)
            reasons = detail.get("messages") or []
            if reasons and isinstance(reasons[0], dict) and reasons[0].get("message"):
                message = f"{reasons[0]['message']}. Log in again for a new token."
        else:
            message, code = str(detail), str(getattr(detail, "code", exc.default_code))
        response.data = error_body(code, message)
    return response


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("not_found", "No such API endpoint."), status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        error_body("server_error", "Something went wrong on the server; nothing was changed."),
        status=500,
    )


def has_perm(permission: str) -> type[BasePermission]:
    """A DRF permission class requiring one Django permission (roles come from groups)."""

    class HasPermission(BasePermission):
        message = "Your role does not allow this."

        def has_permission(self, request: Any, view: Any) -> bool:
            return bool(request.user and request.user.has_perm(permission))

    HasPermission.__name__ = f"Has_{permission.replace('.', '_')}"
    return HasPermission


class Pagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100
