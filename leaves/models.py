"""Leave (an out-pass): a resident away overnight, for a weekend or home, between two times,
requested by a warden on their behalf or by the resident through their pass's link, and
approved or refused by a warden. The gate reads it: an exit during an approved leave is
shown as such, a return after its end is late."""

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from residents.models import Resident
from residents.text import validate_multiline, validate_single_line


class Leave(models.Model):
    class Kind(models.TextChoices):
        OVERNIGHT = "overnight", "Overnight"
        WEEKEND = "weekend", "Weekend"
        HOME = "home", "Home"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="leaves")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    starts = models.DateTimeField()
    ends = models.DateTimeField()
    destination = models.CharField(max_length=200, validators=[validate_single_line])
    reason = models.TextField(blank=True, max_length=500, validators=[validate_multiline])
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    # Who asked: a member of staff, or nobody (the resident, through their pass's link).
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=200, blank=True, validators=[validate_single_line])
    # Set by the gate: the first exit during the leave, the first return after it.
    left_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts"]
        permissions = [("decide_leave", "Can approve or refuse a leave")]
        indexes = [
            models.Index(fields=["resident", "status", "starts"], name="leaves_resident_idx"),
            models.Index(fields=["status", "starts"], name="leaves_status_starts_idx"),
            models.Index(fields=["returned_at", "ends"], name="leaves_returned_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends__gt=F("starts")), name="leaves_ends_after"),
            models.CheckConstraint(
                condition=Q(status__in=["requested", "approved", "refused"]),
                name="leaves_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["overnight", "weekend", "home", "other"]),
                name="leaves_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(returned_at__isnull=True) | Q(left_at__isnull=False),
                name="leaves_returned_after_leaving",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} leave of {self.resident.name} ({self.status})"

    @property
    def late(self) -> bool:
        """Back after the leave's end (or not back yet, and its end has passed: see
        is_overdue)."""
        return self.returned_at is not None and self.returned_at > self.ends

    def is_overdue(self, now: datetime) -> bool:
        """Left on this leave, not back, and its end has passed."""
        return self.left_at is not None and self.returned_at is None and now > self.ends
