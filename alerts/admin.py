"""The outbox in the admin: to look (what was sent, what failed), not to write."""

from django.contrib import admin

from alerts.models import Alert
from ledger.admin import ReadOnlyAdmin


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["subject", "to", "created_at", "attempts", "sent_at", "last_error"]
    list_filter = ["sent_at"]
    search_fields = ["subject", "to", "key"]
