"""The ledger in the admin: readable by superusers, writable by nobody."""

from django.contrib import admin
from django.http import HttpRequest

from ledger.models import Block, ChainHead


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Block)
class BlockAdmin(ReadOnlyAdmin):
    list_display = ["index", "timestamp", "type", "key_id", "short_hash"]
    search_fields = ["=index", "hash"]
    fields = ["index", "timestamp", "data", "prev_hash", "hash", "signature", "key_id"]
    readonly_fields = ["index", "timestamp", "data", "prev_hash", "hash", "signature", "key_id"]
    show_full_result_count = False  # COUNT(*) over a million blocks on every page is waste

    @admin.display(description="hash")
    def short_hash(self, block: Block) -> str:
        return block.hash[:16] + "…"


@admin.register(ChainHead)
class ChainHeadAdmin(ReadOnlyAdmin):
    list_display = ["size", "hash", "timestamp"]
    readonly_fields = ["size", "hash", "timestamp"]
