"""The ledger over the REST API: the event list, a verification, receipts and proofs."""

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
from ledger.receipts import consistency_between, receipt_block, receipt_for


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


class ReceiptBlockSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    timestamp = serializers.CharField()
    data = serializers.CharField(help_text="the stored text, exactly as hashed")  # type: ignore[assignment]
    prev_hash = serializers.CharField()
    hash = serializers.CharField()
    signature = serializers.CharField()
    key_id = serializers.CharField()


class SignedCheckpointSerializer(serializers.Serializer):
    chain = serializers.CharField()
    size = serializers.IntegerField()
    head_hash = serializers.CharField()
    tree_root = serializers.CharField()
    created = serializers.CharField()
    public_key = serializers.CharField()
    signature = serializers.CharField()
    cosignatures = serializers.ListField(child=serializers.DictField(), required=False)


class ReceiptOutputSerializer(serializers.Serializer):
    format = serializers.CharField()
    block = ReceiptBlockSerializer()
    tree_size = serializers.IntegerField()
    inclusion_proof = serializers.ListField(child=serializers.CharField())
    checkpoint = SignedCheckpointSerializer()


class ConsistencyOutputSerializer(serializers.Serializer):
    old_checkpoint = SignedCheckpointSerializer()
    new_checkpoint = SignedCheckpointSerializer()
    consistency_proof = serializers.ListField(child=serializers.CharField())


class LedgerProofApi(APIView):
    """A block's receipt: the block, its RFC 9162 inclusion proof in the latest checkpoint's
    Merkle tree, and that signed checkpoint (`python -m ledger.audit --receipt` checks it)."""

    permission_classes = [IsAuthenticated, has_perm("ledger.view_block")]

    @extend_schema(
        operation_id="ledger_proof",
        responses={
            200: OpenApiResponse(
                ReceiptOutputSerializer, description="The receipt (docs/ledger-format.md)."
            ),
            404: OpenApiResponse(description="No such block."),
            409: OpenApiResponse(description="Not in a checkpoint yet, or no proof now."),
            410: OpenApiResponse(description="The block is archived."),
        },
    )
    def get(self, request: Request, index: int) -> Response:
        return Response(receipt_for(receipt_block(index)))


class ConsistencyInputSerializer(serializers.Serializer):
    old = serializers.IntegerField(min_value=1, max_value=2**62)
    new = serializers.IntegerField(min_value=1, max_value=2**62)


class LedgerConsistencyApi(APIView):
    """An RFC 9162 consistency proof between two recorded checkpoints (?old=SIZE&new=SIZE):
    the later tree extends the earlier one, nothing in it rewritten. For auditors."""

    permission_classes = [IsAuthenticated, has_perm("ledger.verify_chain")]

    @extend_schema(
        operation_id="ledger_consistency",
        parameters=[ConsistencyInputSerializer],
        responses={
            200: OpenApiResponse(
                ConsistencyOutputSerializer, description="Both checkpoints and the proof."
            ),
            404: OpenApiResponse(description="No checkpoint of that size."),
            409: OpenApiResponse(description="No proof can be made now."),
        },
    )
    def get(self, request: Request) -> Response:
        sizes = ConsistencyInputSerializer(data=request.query_params)
        sizes.is_valid(raise_exception=True)
        old, new = sizes.validated_data["old"], sizes.validated_data["new"]
        return Response(consistency_between(old, new))
