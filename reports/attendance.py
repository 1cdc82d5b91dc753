"""A resident's month, replayed from their ledger blocks: where they were at each midnight,
their hours inside, entries and exits, late returns and exits after curfew. Reads only."""

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.utils import timezone

from ledger.crypto import format_timestamp
from ledger.models import Block
from reports.selectors import PASSAGES, local_midnight
from residents.checks import STATUS_EVENTS
from residents.models import Resident

# What the replay reads: a resident's status events, and when they lived here.
LIFE_EVENTS = ("register", "deactivate", *STATUS_EVENTS)


@dataclass(frozen=True)
class Event:
    at: datetime  # UTC
    kind: str
    status: str
    late: bool = False
    curfew_breach: bool = False


@dataclass
class State:
    """Where a resident stood: living here or not, and IN, OUT or "" (not known: never
    scanned, or back since a move back in)."""

    living: bool
    status: str

    def after(self, event: Event) -> None:
        if event.kind == "deactivate":
            self.living = False
        elif event.kind in ("register", "reactivate"):
            self.living, self.status = True, ""
        else:
            self.status = event.status


@dataclass(frozen=True)
class AttendanceDay:
    """One local day of a resident's. ``night`` is where they were at its end (midnight):
    "in", "out", "leave" (out on an approved leave), or "" (not known: before their first
    passage, while not living here, or a day not over yet). ``hours_inside`` is None when
    it is not known: no status all day and no passage."""

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
    def previous(self) -> date | None:
        before = (self.month - timedelta(days=1)).replace(day=1)
        return before if before.year >= 1970 else None

    @property
    def next(self) -> date | None:
        following = (self.month + timedelta(days=32)).replace(day=1)
        return following if following <= timezone.localdate() else None


def attendance(resident: Resident, month: date) -> Attendance:
    """``resident``'s days in ``month`` (any date in it), replayed from their blocks: where
    they stood at the month's start (their last such block before it), then each event.
    Three queries, whatever the ledger's size."""
    month = month.replace(day=1)
    start = local_midnight(month)
    end = local_midnight((month + timedelta(days=32)).replace(day=1))
    mine = Block.objects.filter(subject=str(resident.pk), type__in=LIFE_EVENTS)
    before = mine.filter(timestamp__lt=format_timestamp(start)).order_by("-index").first()
    # Without a block before: registered later, or in archived years (then living here).
    state = State(living=resident.created_at < start, status="")
    if before is not None:
        state.after(_event(before.type, before.timestamp, before.data))
    events = [
        _event(kind, timestamp, text)
        for kind, timestamp, text in mine.filter(
            timestamp__gte=format_timestamp(start), timestamp__lt=format_timestamp(end)
        ).order_by("index").values_list("type", "timestamp", "data")
    ]  # fmt: skip
    leaves = [
        (starts.astimezone(UTC), ends.astimezone(UTC))
        for starts, ends in resident.leaves.filter(
            status="approved", starts__lt=end, ends__gt=start
        ).values_list("starts", "ends")
    ]  # fmt: skip
    now = timezone.now().astimezone(UTC)
    days = []
    day = month
    while day.month == month.month and local_midnight(day) <= now:
        begins = local_midnight(day).astimezone(UTC)
        ends = local_midnight(day + timedelta(days=1)).astimezone(UTC)
        today = [event for event in events if begins <= event.at < ends]
        days.append(_day(day, begins, ends, state, today, leaves, now))
        day += timedelta(days=1)
    return Attendance(resident, month, days)


def _day(
    day: date,
    begins: datetime,
    ends: datetime,
    state: State,
    events: list[Event],
    leaves: list[tuple[datetime, datetime]],
    now: datetime,
) -> AttendanceDay:
    """The day's row; ``state`` is carried to its end. Times in UTC, so that a day of 23 or
    25 hours (daylight saving) counts its real hours."""
    known = bool(state.living and state.status) or any(e.kind in PASSAGES for e in events)
    inside = timedelta()
    since = begins
    for event in events:
        if state.living and state.status == "IN":
            inside += event.at - since
        state.after(event)
        since = event.at
    until = min(ends, now)
    if state.living and state.status == "IN":
        inside += until - since
    night = ""
    if ends <= now and state.living and state.status:
        night = "in" if state.status == "IN" else "out"
        if night == "out" and any(start < ends <= stop for start, stop in leaves):
            night = "leave"
    passages = [event for event in events if event.kind in PASSAGES]
    entries = [event.at for event in passages if event.status == "IN"]
    exits = [event.at for event in passages if event.status == "OUT"]
    return AttendanceDay(
        day=day,
        entries=len(entries),
        exits=len(exits),
        first_in=entries[0] if entries else None,
        last_out=exits[-1] if exits else None,
        hours_inside=inside.total_seconds() / 3600 if known else None,
        night=night,
        late=sum(event.late for event in passages),
        curfew_breaches=sum(event.curfew_breach for event in passages),
    )


def _event(kind: str, timestamp: str, text: str) -> Event:
    data = json.loads(text)
    status = data.get("status")
    return Event(
        datetime.fromisoformat(timestamp).astimezone(UTC),
        kind,
        status if status in ("IN", "OUT") else "",
        bool(data.get("late")),
        bool(data.get("curfew_breach")),
    )
