"""The gate's reads, beside residents.scans: who is in, who is out after curfew, today's
entries and exits, the latest scans, the gates a device can stand at."""

import json
from datetime import datetime, time

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from ledger import selectors as ledger_selectors
from ledger.models import Block
from residents import selectors
from residents.models import Gate, Resident


def residents_inside() -> QuerySet[Resident]:
    return Resident.objects.filter(is_active=True, status=Resident.Status.IN).order_by(
        *selectors.NAME_ORDER
    )


def residents_out() -> QuerySet[Resident]:
    """Active residents whose last scan (or the status staff set) was an exit, out longest
    first. Those never scanned have no status and are not counted out."""
    return Resident.objects.filter(is_active=True, status=Resident.Status.OUT).order_by(
        "status_changed_at", *selectors.ROOM_ORDER
    )


def curfew_passed(now: datetime | None = None) -> bool:
    """Whether local time is past CURFEW (and before the night ends at 06:00)."""
    return night_after(settings.CURFEW, now)


def night_after(hour: str, now: datetime | None = None) -> bool:
    """Whether local time is past ``hour`` ("HH:MM"; "" never is) and the night has not
    ended (06:00)."""
    if not hour:
        return False
    clock = timezone.localtime(now).time()
    start, morning = time.fromisoformat(hour), time(6)
    if start >= morning:
        return clock >= start or clock < morning
    return start <= clock < morning  # after midnight, e.g. 00:30


def residents_out_after_curfew(now: datetime | None = None) -> QuerySet[Resident] | None:
    """Active residents who are out, once local time has passed CURFEW; None before it."""
    return residents_out() if curfew_passed(now) else None


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


def latest_denied(limit: int = 10) -> QuerySet[Block]:
    """The latest denied attempts at the gates (residents.scans records them)."""
    return ledger_selectors.latest_of_type("denied", limit)


def gate_list() -> QuerySet[Gate]:
    return Gate.objects.filter(is_active=True).order_by("name")


def gate_choices() -> list[tuple[str, str]]:
    """(slug, name) of every gate, closed ones too (their events stay in the ledger)."""
    return [
        (slug, name if active else f"{name} (closed)")
        for slug, name, active in Gate.objects.order_by("name").values_list(
            "slug", "name", "is_active"
        )
    ]
