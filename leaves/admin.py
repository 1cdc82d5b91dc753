"""Leave in the admin: to look, not to change. Requests and decisions go through the pages
or the API (leaves.services), each with its ledger block."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from leaves.models import Leave


@admin.register(Leave)
class LeaveAdmin(admin.ModelAdmin):
    list_display = ["resident", "kind", "starts", "ends", "status", "left_at", "returned_at"]
    list_filter = ["status", "kind"]
    search_fields = ["resident__name", "resident__room", "destination"]
    list_select_related = ["resident"]
    date_hierarchy = "starts"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
