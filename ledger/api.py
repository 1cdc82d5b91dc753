"""The ledger over the REST API: the event list and a verification."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hostel.api import Pagination, has_perm
from ledger import registry, selectors
from ledger.forms import filter_arguments, type_choices
from ledger.models import Block
from ledger.verification import chain_verify


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

    @extend_schema(parameters=[LedgerFilterSerializer], responses=BlockOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = LedgerFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        blocks = selectors.ledger_list(**filter_arguments(filters.validated_data))
        paginator = Pagination()
        page = paginator.paginate_queryset(blocks, request, view=self)
        return paginator.get_paginated_response(BlockOutputSerializer(page, many=True).data)


class LedgerVerifyApi(APIView):
    permission_classes = [IsAuthenticated, has_perm("ledger.view_block")]

    @extend_schema(description="Verify the whole chain now: {valid, blocks, problems[]}.")
    def get(self, request: Request) -> Response:
        return Response(chain_verify().as_dict())  # a GET changes nothing: not recorded
