"""Visitors: someone a guard lets in to see a resident for part of a day, with a day pass."""

import uuid
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from residents.models import Resident, phone_validator
from residents.text import validate_single_line


class Visitor(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120, validators=[validate_single_line])
    phone = models.CharField(max_length=24, validators=[phone_validator])
    host = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="visitors")
    photo = models.FileField(upload_to="visitors/", blank=True)
    expected_until = models.DateTimeField()
    checked_in_at = models.DateTimeField()
    checked_out_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    photo_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-checked_in_at"]
        indexes = [
            models.Index(fields=["checked_out_at", "checked_in_at"], name="visitors_inside_idx"),
            models.Index(fields=["checked_in_at"], name="visitors_in_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="visitors_name_present"),
            models.CheckConstraint(
                condition=Q(checked_out_at__isnull=True)
                | Q(checked_out_at__gte=F("checked_in_at")),
                name="visitors_out_after_in",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}, visiting {self.host.name}"

    @property
    def inside(self) -> bool:
        return self.checked_out_at is None

    def pass_day(self) -> date | None:
        """The day the visitor's day pass is for, while it is still that day (local)."""
        day = timezone.localdate(self.checked_in_at)
        return day if day == timezone.localdate() else None
