"""Reads of the ledger: the filtered event list, the latest verification."""

from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from ledger import crypto
from ledger.models import Block, VerificationRun


def ledger_list(
    *,
    resident: str = "",
    kind: str = "",
    mode: str = "",
    gate: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[Block]:
    """Blocks newest first. Dates are local days; resident is an id (the indexed subject)."""
    blocks = Block.objects.all()
    if resident:
        blocks = blocks.filter(subject=resident)
    if kind:
        blocks = blocks.filter(type=kind)
    # mode and gate live only in the data of scan blocks: a text match on the canonical JSON.
    if mode:
        blocks = blocks.filter(
            type="scan", data__contains=crypto.canonical_json({"mode": mode})[1:-1]
        )
    if gate:
        blocks = blocks.filter(
            type="scan", data__contains=crypto.canonical_json({"gate": gate})[1:-1]
        )
    if since:
        blocks = blocks.filter(timestamp__gte=_day_start_utc(since))
    if until:
        blocks = blocks.filter(timestamp__lt=_day_start_utc(until + timedelta(days=1)))
    return blocks.order_by("-index")


def _day_start_utc(day: date) -> str:
    start = timezone.make_aware(datetime.combine(day, time.min))
    return crypto.format_timestamp(start)


def verification_latest() -> VerificationRun | None:
    return VerificationRun.objects.order_by("-finished_at").first()
