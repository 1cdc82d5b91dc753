"""The OpenAPI schema (drf-spectacular): one entry per operation, pages documented as pages,
and every error response documented in the one error shape.

Every API path answers with and without a trailing slash (hostel.urls.api_path); the schema
lists each operation once, without it.
"""

from typing import Any

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

# Errors any authenticated operation can answer, in the shape of hostel.api.error_body.
COMMON_ERRORS = {
    "400": "Invalid input: the fields say which, and why.",
    "401": "Not logged in: no, an expired or a revoked token (a changed password voids "
    "tokens), or, for /api/token, a wrong username or password.",
    "403": "The role does not allow this.",
    "429": "Throttled, or locked out after failed logins; see Retry-After.",
    "503": "The database or the ledger is busy or unavailable; nothing was recorded.",
}


def paginated(
    serializer: type[serializers.Serializer], name: str, *, capped: bool = False
) -> serializers.Serializer:
    """A page of ``serializer`` items, as hostel.api.Pagination returns it (``capped``:
    CappedPagination, whose count may stop at its cap)."""
    count: dict[str, serializers.Field] = {"count": serializers.IntegerField()}
    if capped:
        count["count_exact"] = serializers.BooleanField(
            help_text="False when more items match than were counted: count is then the cap."
        )
    return inline_serializer(
        name=name,
        fields={
            **count,
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer(many=True),
        },
    )


def without_slash_twins(endpoints: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Preprocessing hook: drop the trailing-slash twin of every API path."""
    return [endpoint for endpoint in endpoints if not endpoint[0].endswith("/")]


def with_error_responses(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: the error shape as a component; the errors every operation can
    answer added where it did not document them; every error response in that shape."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "Error",
        {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "fields": {
                            "type": "object",
                            "additionalProperties": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                    "required": ["code", "message"],
                }
            },
            "required": ["error"],
        },
    )
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in COMMON_ERRORS.items():
                responses.setdefault(status, {"description": description})
            if "{" in path:
                responses.setdefault("404", {"description": "No such object."})
            for status, response in responses.items():
                if int(status) >= 400:
                    response.setdefault("content", error)
    return result
