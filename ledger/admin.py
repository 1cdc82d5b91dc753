"""The ledger in the admin: readable by superusers, writable by nobody."""

from collections.abc import Sequence
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from ledger import registry, selectors
from ledger.forms import type_choices
from ledger.models import Block, ChainHead


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class TypeFilter(admin.SimpleListFilter):
    title = "event"
    parameter_name = "type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return type_choices()

    def queryset(self, request: HttpRequest, queryset: QuerySet[Block]) -> QuerySet[Block]:
        return queryset.filter(type=self.value()) if self.value() else queryset


class EventFieldFilter(admin.SimpleListFilter):
    """A registered event field with choices (a scan's mode), as ledger filters offer it."""

    key = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> Sequence[tuple[str, str]]:
        field = registry.event_field(self.key)
        return field.choices if field else ()

    def queryset(self, request: HttpRequest, queryset: QuerySet[Block]) -> QuerySet[Block]:
        value = self.value()
        return selectors.with_field(queryset, self.key, value) if value else queryset


def event_field_filter(field: registry.EventField) -> type[EventFieldFilter]:
    attributes = {"key": field.key, "parameter_name": field.key, "title": field.label.lower()}
    return type(f"{field.key.title()}Filter", (EventFieldFilter,), attributes)


@admin.register(Block)
class BlockAdmin(ReadOnlyAdmin):
    list_display = ["index", "timestamp", "type", "key_id", "short_hash"]
    search_fields = ["=index", "hash"]
    fields = ["index", "timestamp", "data", "prev_hash", "hash", "signature", "key_id"]
    readonly_fields = ["index", "timestamp", "data", "prev_hash", "hash", "signature", "key_id"]
    show_full_result_count = False  # COUNT(*) over a million blocks on every page is waste

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        # Apps register their fields when they are ready, after this module was imported.
        fields = [field for field in registry.event_fields() if field.choices]
        return [TypeFilter, *(event_field_filter(field) for field in fields)]

    @admin.display(description="hash")
    def short_hash(self, block: Block) -> str:
        return block.hash[:16] + "…"


@admin.register(ChainHead)
class ChainHeadAdmin(ReadOnlyAdmin):
    list_display = ["size", "hash", "timestamp"]
    readonly_fields = ["size", "hash", "timestamp"]
