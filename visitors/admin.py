"""Visitors in the admin: to look; check-ins and check-outs go through the gate's pages."""

from django.contrib import admin

from ledger.admin import ReadOnlyAdmin
from visitors.models import Visitor


@admin.register(Visitor)
class VisitorAdmin(ReadOnlyAdmin):
    list_display = ["name", "host", "checked_in_at", "checked_out_at", "photo_deleted_at"]
    list_filter = ["checked_out_at"]
    search_fields = ["name", "phone", "host__name"]
    list_select_related = ["host"]
    exclude = ["photo"]
