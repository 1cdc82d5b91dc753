"""Leave in the admin: to look, not to change. Requests and decisions go through the pages
or the API (leaves.services), each with its ledger block."""

from django.contrib import admin

from leaves.models import Leave
from ledger.admin import ReadOnlyAdmin


@admin.register(Leave)
class LeaveAdmin(ReadOnlyAdmin):
    list_display = ["resident", "kind", "starts", "ends", "status", "left_at", "returned_at"]
    list_filter = ["status", "kind"]
    search_fields = ["resident__name", "resident__room", "destination"]
    list_select_related = ["resident"]
    date_hierarchy = "starts"
