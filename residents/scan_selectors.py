"""The gate's reads, beside residents.scans: who is in, who is out after curfew, today's
entries and exits, the latest scans, the gates a device can stand at."""

import json
from datetime import datetime, time

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from ledger import selectors as ledger_selectors
from ledger.models import Block
from residents.models import Gate, Resident


def residents_inside() -> QuerySet[Resident]:
    return Resident.objects.filter(is_active=True, status=Resident.Status.IN).order_by("name")


def residents_out_after_curfew(now: datetime | None = None) -> QuerySet[Resident] | None:
    """Active residents who are out, once local time has passed CURFEW; None before it."""
    if not settings.CURFEW:
        return None
    clock = timezone.localtime(now).time()
    curfew, morning = time.fromisoformat(settings.CURFEW), time(6)  # the night ends at 06:00
    if curfew >= morning:
        past_curfew = clock >= curfew or clock < morning
    else:  # a curfew after midnight, e.g. 00:30
        past_curfew = curfew <= clock < morning
    if not past_curfew:
        return None
    return Resident.objects.filter(is_active=True, status=Resident.Status.OUT).order_by("room")


def scans_today_by_hour(now: datetime | None = None) -> list[dict[str, int]]:
    """Entries and exits per local hour today, from the ledger's scan blocks."""
    now = timezone.localtime(now)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    hours = [{"hour": hour, "in": 0, "out": 0} for hour in range(24)]
    for timestamp, data in ledger_selectors.events_since("scan", midnight):
        local = timezone.localtime(datetime.fromisoformat(timestamp))
        status = json.loads(data).get("status")
        if status in ("IN", "OUT"):
            hours[local.hour][status.lower()] += 1
    return hours


def latest_scans(limit: int = 10) -> QuerySet[Block]:
    return ledger_selectors.latest_of_type("scan", limit)


def gate_list() -> QuerySet[Gate]:
    return Gate.objects.filter(is_active=True).order_by("name")
