"""The ledger over the REST API: the event list and a verification."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hostel.api import Pagination, has_perm
from ledger import selectors
from ledger.forms import MODES, TYPES
from ledger.models import Block
from ledger.verification import chain_verify


class BlockOutputSerializer(serializers.ModelSerializer):
    data = serializers.SerializerMethodField()

    class Meta:
        model = Block
        fields = ["index", "timestamp", "type", "data", "prev_hash", "hash", "signature", "key_id"]

    def get_data(self, block: Block) -> dict:
        return block.payload


class LedgerListApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("ledger.view_block")]

    class FilterSerializer(serializers.Serializer):
        resident = serializers.UUIDField(required=False)
        type = serializers.ChoiceField(
            choices=[value for value, _ in TYPES if value], required=False
        )
        mode = serializers.ChoiceField(
            choices=[value for value, _ in MODES if value], required=False
        )
        gate = serializers.SlugField(required=False, max_length=40)
        since = serializers.DateField(required=False)
        until = serializers.DateField(required=False)

    @extend_schema(parameters=[FilterSerializer], responses=BlockOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        blocks = selectors.ledger_list(
            resident=str(data["resident"]) if data.get("resident") else "",
            kind=data.get("type", ""),
            mode=data.get("mode", ""),
            gate=data.get("gate", ""),
            since=data.get("since"),
            until=data.get("until"),
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(blocks, request, view=self)
        return paginator.get_paginated_response(BlockOutputSerializer(page, many=True).data)


class LedgerVerifyApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("ledger.view_block")]

    @extend_schema(description="Verify the whole chain now: {valid, blocks, problems[]}.")
    def get(self, request: Request) -> Response:
        report = chain_verify()  # a GET changes nothing: the run is not recorded
        return Response(
            {
                "valid": report.valid,
                "blocks": report.blocks,
                "head": {"size": report.head_size, "hash": report.head_hash},
                "problem_count": report.problem_count,
                "problems": [problem.as_dict() for problem in report.problems],
            }
        )
