"""Reports a warden prints: a day's gate in numbers, and the emergency muster list. Reads
only (the ledger's blocks by their indexed type and timestamp, the residents' status). A
resident's month is reports.attendance, the last 30 days' occupancy reports.occupancy."""

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import groupby

from django.db.models import QuerySet
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
    start = local_midnight(day)
    end = local_midnight(day + timedelta(days=1))
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
    never_scanned: int  # residents living here whose whereabouts nothing recorded

    @property
    def count(self) -> int:
        return sum(len(floor.residents) for floor in self.floors)


def muster() -> Muster:
    """Who is inside now: residents whose last passage was an entry, by floor (no floor
    last), by room; the visitors inside; and how many residents were never scanned (where
    they are, nothing says). Three queries, whatever the numbers."""
    inside = residents_inside().order_by("floor", "room_sort", "name_sort")
    inside = inside.only("id", "name", "room", "floor", "phone", "status_changed_at")
    rows = sorted(inside, key=lambda r: (r.floor is None, r.floor or 0))
    floors = [Floor(key, list(group)) for key, group in groupby(rows, key=lambda r: r.floor)]
    unknown = Resident.objects.filter(is_active=True, status__isnull=True).count()
    return Muster(timezone.now(), floors, visitors_inside(), unknown)


PASSAGES = ("scan", "status")  # the blocks that set a resident IN or OUT: a scan, or staff


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time()))


def sentence(problem: Exception) -> str:
    """A ValueError's message as the start of a sentence."""
    text = str(problem)
    return text[:1].upper() + text[1:]


def day_parse(text: str) -> date:
    """The day ``text`` names (YYYY-MM-DD, from 1970 to today); ValueError saying what is
    wrong otherwise."""
    return _bounded(text, "date", "YYYY-MM-DD", "that day has not come yet", timezone.localdate())


def month_parse(text: str) -> date:
    """The first day of the month ``text`` names (YYYY-MM, ASCII digits, from 1970 to this
    month); ValueError saying what is wrong otherwise."""
    this = timezone.localdate().replace(day=1)
    return _bounded(text, "month", "YYYY-MM", "that month has not begun", this)


def _bounded(text: str, what: str, form: str, too_late: str, latest: date) -> date:
    """``text`` as a date of ``form`` (ASCII digits; a month is its first day), from 1970 to
    ``latest``."""
    pattern = form.replace("YYYY", "[0-9]{4}").replace("MM", "[0-9]{2}").replace("DD", "[0-9]{2}")
    try:
        if not re.fullmatch(pattern, text):
            raise ValueError
        parsed = date.fromisoformat(text if what == "date" else f"{text}-01")
    except ValueError:
        raise ValueError(f"{text[:20]!r} is not a {what} ({form})") from None
    if parsed > latest:
        raise ValueError(too_late)
    if parsed.year < 1970:
        raise ValueError("there are no records before 1970")
    return parsed
