"""Reads of the ledger: the filtered event list, one subject's events, the latest
verification. Other apps read blocks only through these."""

from collections.abc import Iterator, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connections
from django.db.models import JSONField, QuerySet, Value
from django.db.models.fields.json import DataContains
from django.db.models.functions import Cast
from django.utils import timezone

from ledger import crypto, registry
from ledger.models import ArchiveSegment, Block, ChainHead, Checkpoint, VerificationRun


def ledger_list(
    *,
    subject: str = "",
    kind: str = "",
    fields: Mapping[str, str] | None = None,
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[Block]:
    """Blocks newest first. Dates are local days; ``subject`` is an id (indexed);
    ``fields`` match registered event fields exactly (ledger.registry.event_fields)."""
    blocks: QuerySet[Block] = Block.objects.all()
    if subject:
        blocks = blocks.filter(subject=subject)
    if kind:
        blocks = blocks.filter(type=kind)
    for key, value in (fields or {}).items():
        blocks = with_field(blocks, key, value)
    start = _day_start_utc(since) if since else None
    if start:
        blocks = blocks.filter(timestamp__gte=start)
    end = _day_start_utc(until, days_later=1) if until else None
    if end:
        blocks = blocks.filter(timestamp__lt=end)
    return blocks.order_by("-index")


def with_field(blocks: QuerySet[Block], key: str, value: str) -> QuerySet[Block]:
    """``blocks`` whose data has ``key`` = ``value``, for a registered event field, within
    the types that carry the field.

    Fields live only in the (hashed) data. On PostgreSQL the data is read as jsonb and
    matched by containment, which the GIN index of migration 0006 serves; elsewhere the
    canonical JSON text is matched."""
    field = registry.event_field(key)
    if field is None or not value:
        return blocks
    blocks = blocks.filter(type__in=field.types)
    if connections[blocks.db].vendor == "postgresql":
        return blocks.filter(
            DataContains(Cast("data", JSONField()), Value({key: value}, JSONField()))
        )
    fragment = crypto.canonical_json({key: value})[1:-1]
    return blocks.filter(data__contains=fragment)


def _day_start_utc(day: date, *, days_later: int = 0) -> str | None:
    """The UTC timestamp at which local ``day`` (plus ``days_later``) begins; None when that
    lies outside the calendar (before year 1 in UTC, after 9999): no bound at all then."""
    try:
        start = timezone.make_aware(datetime.combine(day, time.min)) + timedelta(days=days_later)
        return crypto.format_timestamp(start)
    except OverflowError:
        return None


COUNT_CAP = 10_000  # a filtered list counts this many events at most


def ledger_count_known(arguments: Mapping[str, Any]) -> int | None:
    """How many blocks ledger_list(**arguments) holds, when that costs nothing: the whole
    chain's, from its head row. None for a filtered list, which pages count only up to
    COUNT_CAP (counting a million matches would cost more than the page)."""
    return None if any(arguments.values()) else ledger_stored()


def ledger_stored() -> int:
    """How many blocks the database holds, by the head row and the archive's anchor (no
    count over the blocks): the chain's size less the archived blocks."""
    head = ChainHead.objects.filter(pk=ChainHead.SINGLETON).first()
    anchor = archive_anchor()
    return max((head.size if head else 0) - (anchor.last_index + 1 if anchor else 0), 0)


def block_get(index: int) -> Block | None:
    return Block.objects.filter(index=index).first()


def block_has_successor(block: Block) -> bool:
    return Block.objects.filter(index=block.index + 1).exists()


def subject_history(subject: str, *, kind: str | tuple[str, ...] = "") -> QuerySet[Block]:
    """One subject's blocks (optionally of some types), newest first, by the subject index."""
    blocks = Block.objects.filter(subject=subject)
    if kind:
        blocks = blocks.filter(type__in=(kind,) if isinstance(kind, str) else kind)
    return blocks.order_by("-index")


def subject_events_since(subject: str, kind: str, since: datetime) -> QuerySet[Block]:
    """One subject's ``kind`` blocks from ``since`` on, newest first."""
    since_text = crypto.format_timestamp(since)
    return subject_history(subject, kind=kind).filter(timestamp__gte=since_text)


def latest_of_type(kind: str, limit: int) -> QuerySet[Block]:
    return Block.objects.filter(type=kind).order_by("-index")[:limit]


def events_since(kind: str, since: datetime) -> Iterator[tuple[str, str]]:
    """(timestamp, data text) of every ``kind`` block from ``since`` on, streamed."""
    rows = Block.objects.filter(type=kind, timestamp__gte=crypto.format_timestamp(since))
    return rows.values_list("timestamp", "data").iterator(chunk_size=2000)


def count_since(kind: str, since: datetime) -> int:
    """How many ``kind`` blocks there are from ``since`` on (the type and timestamp index)."""
    return Block.objects.filter(type=kind, timestamp__gte=crypto.format_timestamp(since)).count()


def events_in_order(*kinds: str) -> Iterator[tuple[str, str]]:
    """(subject, data text) of every block of these types in chain order, streamed."""
    rows = Block.objects.filter(type__in=kinds).order_by("index").values_list("subject", "data")
    return rows.iterator(chunk_size=5000)


def archive_anchor() -> ArchiveSegment | None:
    """The latest archive segment (the live chain continues after it), or None."""
    return ArchiveSegment.objects.order_by("-number").first()


def checkpoint_latest() -> Checkpoint | None:
    """The largest checkpoint recorded here: receipts are given against it."""
    return Checkpoint.objects.order_by("-size", "-recorded_at").first()


def stored_subjects(kind: str) -> set[str]:
    """The subjects that have a stored event of type ``kind`` (by the type index)."""
    rows = Block.objects.filter(type=kind).values_list("subject", flat=True)
    return set(rows.iterator(chunk_size=5000))


def verification_latest() -> VerificationRun | None:
    return VerificationRun.objects.order_by("-finished_at").first()
