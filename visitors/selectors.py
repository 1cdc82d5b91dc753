from datetime import datetime

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from residents.scan_selectors import night_after
from visitors.models import Visitor


def visitors_inside() -> QuerySet[Visitor]:
    return (
        Visitor.objects.filter(checked_out_at__isnull=True)
        .select_related("host")
        .order_by("checked_in_at")
    )


def visitors_today(now: datetime | None = None) -> QuerySet[Visitor]:
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        Visitor.objects.filter(checked_in_at__gte=midnight)
        .select_related("host")
        .order_by("-checked_in_at")
    )


def closing_passed(now: datetime | None = None) -> bool:
    """Past VISITORS_CLOSE (local time), until 06:00: visitors inside should have left."""
    return night_after(settings.VISITORS_CLOSE, now)
