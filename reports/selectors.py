"""Reports a warden prints: a day's gate in numbers, and the emergency muster list. Reads
only (the ledger's blocks by their indexed type and timestamp, the residents' status)."""

import json
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate, groupby

from django.core.cache import cache
from django.db.models import Count, JSONField, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Substr
from django.utils import timezone

from ledger.crypto import format_timestamp
from ledger.models import Block
from residents.models import Resident
from residents.scan_selectors import residents_inside
from visitors.models import Visitor
from visitors.selectors import visitors_inside


@dataclass(frozen=True)
class Day:
    day: date
    entries: int
    exits: int
    late_returns: int
    curfew_breaches: int
    denied: int
    visitors: int

    def as_dict(self) -> dict[str, object]:
        return {
            "date": self.day.isoformat(),
            "entries": self.entries,
            "exits": self.exits,
            "late_returns": self.late_returns,
            "curfew_breaches": self.curfew_breaches,
            "denied": self.denied,
            "visitors": self.visitors,
        }


def day_report(day: date) -> Day:
    """The gate on ``day`` (local midnight to midnight), counted from the ledger's scan and
    denied blocks and the visitors let in."""
    start = timezone.make_aware(datetime.combine(day, time()))
    end = start + timedelta(days=1)
    counts = {"IN": 0, "OUT": 0, "late": 0, "curfew": 0, "denied": 0}
    blocks = Block.objects.filter(
        type__in=["scan", "denied"],
        timestamp__gte=format_timestamp(start),
        timestamp__lt=format_timestamp(end),
    ).values_list("type", "data")
    for kind, text in blocks.iterator(chunk_size=2000):
        if kind == "denied":
            counts["denied"] += 1
            continue
        data = json.loads(text)
        counts[data.get("status", "")] = counts.get(data.get("status", ""), 0) + 1
        counts["late"] += bool(data.get("late"))
        counts["curfew"] += bool(data.get("curfew_breach"))
    visitors = Visitor.objects.filter(checked_in_at__gte=start, checked_in_at__lt=end).count()
    return Day(
        day, counts["IN"], counts["OUT"], counts["late"], counts["curfew"], counts["denied"],
        visitors,
    )  # fmt: skip


@dataclass
class Floor:
    floor: int | None
    residents: list[Resident] = field(default_factory=list)


@dataclass(frozen=True)
class Muster:
    at: datetime
    floors: list[Floor]
    visitors: QuerySet[Visitor]

    @property
    def count(self) -> int:
        return sum(len(floor.residents) for floor in self.floors)


def muster() -> Muster:
    """Who is inside now: residents whose last passage was an entry, by floor (no floor
    last), by room; and the visitors inside. Two queries, whatever the numbers."""
    inside = residents_inside().order_by("floor", "room_sort", "name_sort")
    inside = inside.only("id", "name", "room", "floor", "phone", "status_changed_at")
    rows = sorted(inside, key=lambda r: (r.floor is None, r.floor or 0))
    floors = [Floor(key, list(group)) for key, group in groupby(rows, key=lambda r: r.floor)]
    return Muster(timezone.now(), floors, visitors_inside())


# --- Attendance: one resident over a month -------------------------------------------------

PASSAGES = ["scan", "status"]  # the blocks that set a resident's status (a scan, or by hand)


@dataclass(frozen=True)
class Passage:
    at: datetime
    status: str
    late: bool = False
    curfew_breach: bool = False


@dataclass(frozen=True)
class AttendanceDay:
    """One local day of a resident's. ``night`` is where they were at its end (midnight):
    "in", "out", "leave" (out on an approved leave), or "" (not known: before their first
    passage, not yet over, or not a resident then). ``hours_inside`` is None when their
    status was not known all day."""

    day: date
    entries: int
    exits: int
    first_in: datetime | None
    last_out: datetime | None
    hours_inside: float | None
    night: str
    late: int
    curfew_breaches: int


@dataclass(frozen=True)
class Attendance:
    resident: Resident
    month: date  # its first day
    days: list[AttendanceDay]

    def _nights(self, where: str) -> int:
        return sum(day.night == where for day in self.days)

    @property
    def nights_in(self) -> int:
        return self._nights("in")

    @property
    def nights_out(self) -> int:
        return self._nights("out")

    @property
    def nights_on_leave(self) -> int:
        return self._nights("leave")

    @property
    def late_returns(self) -> int:
        return sum(day.late for day in self.days)

    @property
    def curfew_breaches(self) -> int:
        return sum(day.curfew_breaches for day in self.days)

    @property
    def previous(self) -> date:
        return (self.month - timedelta(days=1)).replace(day=1)

    @property
    def next(self) -> date | None:
        following = (self.month + timedelta(days=32)).replace(day=1)
        return following if following <= timezone.localdate() else None


def attendance(resident: Resident, month: date) -> Attendance:
    """``resident``'s days in ``month`` (any date in it), replayed from the ledger's scan and
    status blocks of theirs: the status they had at the month's start, then each passage.
    Three queries, whatever the ledger's size (the blocks by subject, the approved leave)."""
    month = month.replace(day=1)
    start = _midnight(month)
    end = _midnight((month + timedelta(days=32)).replace(day=1))
    mine = Block.objects.filter(subject=str(resident.pk), type__in=PASSAGES)
    before = mine.filter(timestamp__lt=format_timestamp(start)).order_by("-index").first()
    status = json.loads(before.data).get("status", "") if before else ""
    passages = [
        _passage(timestamp, text)
        for timestamp, text in mine.filter(
            timestamp__gte=format_timestamp(start), timestamp__lt=format_timestamp(end)
        ).order_by("index").values_list("timestamp", "data")
    ]  # fmt: skip
    leaves = list(
        resident.leaves.filter(status="approved", starts__lt=end, ends__gt=start).values_list(
            "starts", "ends"
        )
    )
    now = timezone.now()
    days = []
    day = month
    while day.month == month.month and _midnight(day) <= now:
        today = [p for p in passages if _midnight(day) <= p.at < _midnight(day + timedelta(1))]
        row, status = _day(resident, day, status, today, leaves, now)
        days.append(row)
        day += timedelta(days=1)
    return Attendance(resident, month, days)


def _day(
    resident: Resident,
    day: date,
    status: str,
    passages: list[Passage],
    leaves: list[tuple[datetime, datetime]],
    now: datetime,
) -> tuple[AttendanceDay, str]:
    """The day's row, and the status at its end."""
    begins, ends = _midnight(day), min(_midnight(day + timedelta(days=1)), now)
    known = bool(status) or bool(passages)
    inside = timedelta()
    since = begins
    for passage in passages:
        if status == "IN":
            inside += passage.at - since
        status, since = passage.status, passage.at
    if status == "IN":
        inside += ends - since
    over = ends < now and resident.created_at < ends
    moved_out = resident.moved_out_on is not None and resident.moved_out_on <= day
    night = ""
    if over and not moved_out and status:
        night = "in" if status == "IN" else "out"
        if night == "out" and any(start < ends <= stop for start, stop in leaves):
            night = "leave"
    entries = [p.at for p in passages if p.status == "IN"]
    exits = [p.at for p in passages if p.status == "OUT"]
    row = AttendanceDay(
        day=day,
        entries=len(entries),
        exits=len(exits),
        first_in=entries[0] if entries else None,
        last_out=exits[-1] if exits else None,
        hours_inside=inside.total_seconds() / 3600 if known else None,
        night=night,
        late=sum(p.late for p in passages),
        curfew_breaches=sum(p.curfew_breach for p in passages),
    )
    return row, status


def _passage(timestamp: str, text: str) -> Passage:
    data = json.loads(text)
    return Passage(
        datetime.fromisoformat(timestamp),
        data.get("status", ""),
        bool(data.get("late")),
        bool(data.get("curfew_breach")),
    )


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time()))


# --- Occupancy: residents inside through the day, the last 30 days --------------------------

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
        """The most inside at any hour shown, or now."""
        return max([self.inside, *(n for day in self.days for n in day.hours if n is not None)])


def occupancy(days: int = OCCUPANCY_DAYS) -> Occupancy:
    """How many residents were inside at each hour of the last ``days`` local days, counted
    back from who is inside now through the ledger's passages (scans and statuses set by
    hand): before an entry one fewer was inside, before an exit one more. The database
    counts the passages per ten minutes of UTC, so a time zone whose offset is not a
    multiple of ten minutes is rounded to them; at most six queries whatever the numbers.

    An estimate where the replay cannot know better: a first passage that was an exit
    (the resident had no status) and a resident moved out while marked inside each shift
    the hours before them by one; the chart never shows fewer than none."""
    now = timezone.now()
    first = timezone.localdate(now) - timedelta(days=days - 1)
    change = _net_entries(_midnight(first), now)
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
    status = KeyTextTransform("status", Cast("data", output_field=JSONField()))
    counted = (
        blocks.annotate(bucket=Substr("timestamp", 1, BUCKET), passed=status)
        .values_list("bucket", "passed")
        .annotate(n=Count("id"))
        .order_by()
    )
    change: dict[str, int] = {}
    for bucket, passed, n in counted:
        change[bucket] = change.get(bucket, 0) + (n if passed == "IN" else -n)
    return change


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)
