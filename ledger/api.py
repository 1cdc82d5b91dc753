"""The ledger over the REST API: the event list and a verification."""

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle
from rest_framework.views import APIView

from hostel.api import CappedPagination, has_perm
from hostel.schema import paginated
from ledger import registry, selectors, services
from ledger.forms import filter_arguments, type_choices
from ledger.models import Block, VerificationRun


class BlockOutputSerializer(serializers.ModelSerializer):
    # DRF's metaclass takes declared fields off the class, so this "data" never shadows
    # Serializer.data at run time; the stubs cannot know that.
    data = serializers.SerializerMethodField()  # type: ignore[assignment]

    class Meta:
        model = Block
        fields = ["index", "timestamp", "type", "data", "prev_hash", "hash", "signature", "key_id"]

    def get_data(self, block: Block) -> dict[str, Any]:
        return block.payload


class LedgerFilterSerializer(serializers.Serializer):
    """type, since, until, the registered event fields, and the subject's id."""

    type = serializers.ChoiceField(choices=[], required=False)
    since = serializers.DateField(required=False)
    until = serializers.DateField(required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["type"] = serializers.ChoiceField(choices=type_choices(), required=False)
        for event_field in registry.event_fields():
            fields[event_field.key] = (
                serializers.ChoiceField(choices=list(event_field.choices), required=False)
                if event_field.choices
                else serializers.SlugField(required=False, max_length=40)
            )
        fields[registry.subject().param] = serializers.UUIDField(required=False)
        return fields


class LedgerListApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("ledger.view_block")]

    @extend_schema(
        operation_id="ledger_list",
        parameters=[LedgerFilterSerializer],
        responses=paginated(BlockOutputSerializer, "PaginatedBlockList", capped=True),
    )
    def get(self, request: Request) -> Response:
        filters = LedgerFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        arguments = filter_arguments(filters.validated_data)
        blocks = selectors.ledger_list(**arguments)
        paginator = CappedPagination(
            cap=selectors.COUNT_CAP, known_count=selectors.ledger_count_known(arguments)
        )
        page = paginator.paginate_queryset(blocks, request, view=self)
        return paginator.get_paginated_response(BlockOutputSerializer(page, many=True).data)


class VerificationOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = VerificationRun
        fields = [
            "valid",
            "blocks",
            "problem_count",
            "problems",
            "started_at",
            "finished_at",
            "trigger",
            "by",
        ]


class LedgerVerifyApi(APIView):
    """GET: the latest verification (cron's, a warden's, or one started here): one row read,
    so any number of guards may poll it. POST: verify the whole chain now (wardens;
    throttled by THROTTLE_VERIFY, since a run reads every block)."""

    throttle_scope = "verify"

    def get_permissions(self) -> list[BasePermission]:
        permission = "ledger.verify_chain" if self.request.method == "POST" else "ledger.view_block"
        return [IsAuthenticated(), has_perm(permission)()]

    def get_throttles(self) -> list[BaseThrottle]:
        # Only starting a run costs anything: GETs share the user's ordinary rate.
        throttles = super().get_throttles()
        if self.request.method == "POST":
            return throttles
        return [t for t in throttles if not isinstance(t, ScopedRateThrottle)]

    @extend_schema(
        responses={
            200: VerificationOutputSerializer,
            404: OpenApiResponse(description="No verification has run yet."),
        }
    )
    def get(self, request: Request) -> Response:
        run = selectors.verification_latest()
        if run is None:
            raise NotFound("The chain has not been verified yet; POST here to verify it now.")
        return Response(VerificationOutputSerializer(run).data)

    @extend_schema(request=None, responses={201: VerificationOutputSerializer})
    def post(self, request: Request) -> Response:
        _, run = services.verification_run(trigger="api", by=request.user.get_username())
        if run is None:
            raise NotFound("The run finished but could not be recorded; see the server log.")
        return Response(VerificationOutputSerializer(run).data, status=status.HTTP_201_CREATED)
