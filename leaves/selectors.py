"""Reads of leave: the lists a warden works from, and a resident's own."""

from datetime import datetime

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from leaves.models import Leave
from residents.models import Resident

SHOWN = {
    "pending": "Waiting for a decision",
    "current": "Approved, now or coming",
    "late": "Late returns",
    "all": "All leave",
}


def leave_list(*, show: str = "pending", now: datetime | None = None) -> QuerySet[Leave]:
    """Leaves as a warden looks for them (SHOWN): waiting for a decision, soonest first;
    approved and not over or not back yet; late returns (back after the end, or not back and
    the end has passed), latest end first; or all, newest first."""
    now = now or timezone.now()
    leaves = Leave.objects.select_related("resident", "requested_by", "decided_by")
    if show == "pending":
        return leaves.filter(status=Leave.Status.REQUESTED).order_by("starts", "created_at")
    if show == "current":
        return leaves.filter(
            Q(ends__gt=now) | Q(left_at__isnull=False, returned_at__isnull=True),
            status=Leave.Status.APPROVED,
        ).order_by("starts")
    if show == "late":
        return late_returns(now)
    return leaves.order_by("-created_at")


def late_returns(now: datetime | None = None) -> QuerySet[Leave]:
    now = now or timezone.now()
    late = Q(returned_at__gt=F("ends")) | Q(
        left_at__isnull=False, returned_at__isnull=True, ends__lt=now
    )
    return (
        Leave.objects.select_related("resident", "requested_by", "decided_by")
        .filter(late, status=Leave.Status.APPROVED)
        .order_by("-ends")
    )


def resident_leaves(resident: Resident, *, limit: int = 10) -> QuerySet[Leave]:
    return Leave.objects.filter(resident=resident).order_by("-starts")[:limit]
