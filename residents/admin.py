"""Residents in the Django admin. Every write goes through residents.services."""

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from residents import services
from residents.errors import ResidentError
from residents.forms import ResidentForm
from residents.models import Gate, Resident
from residents.services import EDITABLE_FIELDS, RECORDED_FIELDS


@admin.register(Resident)
class ResidentAdmin(admin.ModelAdmin):
    form = ResidentForm
    list_display = ["thumbnail", "name", "room", "floor", "status", "is_active", "pass_version"]
    list_display_links = ["name"]
    list_filter = ["status", "is_active", "floor"]
    search_fields = ["name", "room", "email", "phone"]
    list_per_page = 50
    fields = [
        "thumbnail",
        *EDITABLE_FIELDS,
        "photo_upload",
        "photo_kept",
        "same_face_confirmed",
        "voice_upload",
        "voice_kept",
        *RECORDED_FIELDS,
        "created_by",
    ]
    readonly_fields = ["thumbnail", *RECORDED_FIELDS, "created_by"]
    actions = ["deactivate", "reissue_passes"]

    @admin.display(description="photo")
    def thumbnail(self, resident: Resident) -> str:
        if not resident.photo:
            return "—"
        url = reverse("residents:photo", args=[resident.pk])
        return format_html('<img src="{}" alt="" height="48">', url)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # residents move out (deactivate); the ledger keeps referring to them

    def save_model(
        self, request: HttpRequest, obj: Resident, form: ResidentForm, change: bool
    ) -> None:
        arguments = form.service_arguments()
        if change:
            saved = services.resident_update(resident=obj, by=request.user, **arguments)
        else:
            saved = services.resident_register(by=request.user, **arguments)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(
        self, request: HttpRequest, form: ResidentForm, formsets: Any, change: bool
    ) -> None:
        pass  # no related objects are edited here

    @admin.action(description="Record that the selected residents moved out")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Resident]) -> None:
        self._each(request, queryset, services.resident_deactivate, "moved out")

    @admin.action(description="Reissue the selected residents' passes")
    def reissue_passes(self, request: HttpRequest, queryset: QuerySet[Resident]) -> None:
        self._each(request, queryset, services.pass_reissue, "got a new pass")

    def _each(
        self,
        request: HttpRequest,
        queryset: QuerySet[Resident],
        service: Callable[..., Resident],
        done: str,
    ) -> None:
        succeeded = 0
        for resident in queryset:
            try:
                service(resident=resident, by=request.user)
            except ResidentError as exc:
                self.message_user(request, str(exc), messages.WARNING)
            else:
                succeeded += 1
        self.message_user(request, f"{succeeded} resident(s) {done}.", messages.SUCCESS)


@admin.register(Gate)
class GateAdmin(admin.ModelAdmin):
    """Gates are configuration, not records: superusers add, rename and switch their mode."""

    list_display = ["name", "slug", "mode", "face_liveness", "is_active", "is_default"]
    list_editable = ["mode", "is_active"]
    prepopulated_fields = {"slug": ["name"]}

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # scan blocks name gates by slug; deactivate a gate instead
