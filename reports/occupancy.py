"""Occupancy through the day: how many residents were inside at each hour of the last 30
days, counted back from who is inside now through the ledger's passages. Reads only."""

from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate

from django.core.cache import cache
from django.db.models import Count, JSONField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Substr
from django.utils import timezone

from ledger.crypto import format_timestamp
from ledger.models import Block
from reports.selectors import PASSAGES, local_midnight
from residents.models import Resident
from residents.scan_selectors import residents_inside

OCCUPANCY_DAYS = 30
BUCKET = 15  # characters of a block's UTC timestamp: "2026-11-23T10:3", ten minutes


@dataclass(frozen=True)
class OccupancyDay:
    day: date
    hours: list[int | None]  # residents inside at each local hour, 0 to 23; None: not yet


@dataclass(frozen=True)
class Occupancy:
    days: list[OccupancyDay]  # oldest first, today last
    inside: int  # now
    residents: int  # living here now, the chart's scale

    @property
    def peak(self) -> int:
        """The most inside on the hour, in the days shown."""
        return max([0, *(n for day in self.days for n in day.hours if n is not None)])


def occupancy(days: int = OCCUPANCY_DAYS) -> Occupancy:
    """How many residents were inside at each hour of the last ``days`` local days, counted
    back from who is inside now through the ledger's passages (scans and statuses set by
    hand): before an entry one fewer was inside, before an exit one more. The database
    counts the passages per ten minutes of UTC, so a time zone whose offset is not a
    multiple of ten minutes is rounded to them; at most six queries whatever the numbers.

    A resident's first passage (marked "first" in its block: since registering or moving
    back in) that is an exit changes nothing. An estimate where the replay cannot know
    better: a resident moved out while marked inside shifts the hours before by one, and
    so does a first exit recorded before blocks were marked; the chart never shows fewer
    than none."""
    now = timezone.now()
    first = timezone.localdate(now) - timedelta(days=days - 1)
    change = _net_entries(local_midnight(first), now)
    buckets = sorted(change)
    after = [*reversed(list(accumulate(change[b] for b in reversed(buckets)))), 0]
    inside = residents_inside().count()

    def at(moment: datetime) -> int:
        key = format_timestamp(moment)[:BUCKET]
        return inside - after[bisect_left(buckets, key)]

    rows = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        hours: list[int | None] = []
        for hour in range(24):
            moment = timezone.make_aware(datetime.combine(day, time(hour)))
            hours.append(max(at(moment), 0) if moment <= now else None)
        rows.append(OccupancyDay(day, hours))
    living = Resident.objects.filter(is_active=True).count()
    return Occupancy(rows, inside, living)


def _net_entries(since: datetime, now: datetime) -> dict[str, int]:
    """Entries less exits per ten minutes of UTC (keyed by the timestamps' first BUCKET
    characters), from the UTC day of ``since`` to ``now``. Whole UTC days before today are
    kept in the cache: the ledger's clock never runs backwards, so no block joins a day
    that is over. Counting a month of a 10,000-resident hostel's passages takes the
    database over a second (bench/scale.py); after that only today's are counted."""
    today = now.astimezone(UTC).date()
    first = since.astimezone(UTC).date()
    genesis = Block.objects.filter(index=0).values_list("hash", flat=True).first() or ""
    past = [first + timedelta(days=n) for n in range((today - first).days)]
    keys = {day: f"reports:occupancy:{genesis[:16]}:{day}" for day in past}
    cached = cache.get_many(list(keys.values()))
    change: dict[str, int] = {}
    for part in cached.values():
        change.update(part)
    missing = [day for day in past if keys[day] not in cached]
    if missing:
        counted = _counted(_utc_midnight(missing[0]), _utc_midnight(missing[-1] + timedelta(1)))
        by_day: dict[str, dict[str, int]] = {}
        for bucket, n in counted.items():
            by_day.setdefault(bucket[:10], {})[bucket] = n
        fresh = {keys[day]: by_day.get(day.isoformat(), {}) for day in missing}
        cache.set_many(fresh, timeout=CACHE_SECONDS)
        for part in fresh.values():
            change.update(part)
    change.update(_counted(_utc_midnight(today), None))
    return change


CACHE_SECONDS = 40 * 24 * 3600


def _counted(since: datetime, until: datetime | None) -> dict[str, int]:
    blocks = Block.objects.filter(type__in=PASSAGES, timestamp__gte=format_timestamp(since))
    if until is not None:
        blocks = blocks.filter(timestamp__lt=format_timestamp(until))
    data = Cast("data", output_field=JSONField())
    counted = (
        blocks.annotate(
            bucket=Substr("timestamp", 1, BUCKET),
            passed=KeyTextTransform("status", data),
            first=KeyTextTransform("first", data),
        )
        .values_list("bucket", "passed", "first")
        .annotate(n=Count("id"))
        .order_by()
    )
    change: dict[str, int] = {}
    for bucket, passed, first, n in counted:
        # A first passage that is an exit: nobody had counted them inside.
        step = n if passed == "IN" else 0 if first in ("true", True) else -n
        change[bucket] = change.get(bucket, 0) + step
    return change


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)
