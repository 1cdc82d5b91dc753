"""Reads: the resident directory, one resident's ledger history, occupancy counts."""

import json
from datetime import datetime, time
from typing import Any

import orjson
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from ledger import crypto
from ledger.models import Block
from residents import passes
from residents.models import Gate, Resident

ORDERINGS = {
    "name": ("name", "room"),
    "-name": ("-name", "room"),
    "room": ("room", "name"),
    "-room": ("-room", "name"),
    "floor": ("floor", "room", "name"),
    "-floor": ("-floor", "room", "name"),
    "newest": ("-created_at",),
    "oldest": ("created_at",),
    "status": ("status", "name"),
}


def resident_list(
    *,
    search: str = "",
    status: str = "",
    room: str = "",
    floor: int | None = None,
    active: bool | None = True,
    order: str = "name",
) -> QuerySet[Resident]:
    """Residents matching every given filter. ``active=None`` includes moved-out residents."""
    residents = Resident.objects.all()
    search = search.strip()
    if search:
        residents = residents.filter(
            Q(name__icontains=search)
            | Q(room__iexact=search)
            | Q(email__icontains=search)
            | Q(phone__contains=search)
        )
    if status:
        residents = residents.filter(status=status)
    if room:
        residents = residents.filter(room__iexact=room.strip())
    if floor is not None:
        residents = residents.filter(floor=floor)
    if active is not None:
        residents = residents.filter(is_active=active)
    return residents.order_by(*ORDERINGS.get(order, ORDERINGS["name"]))


def resident_get(resident_id: Any) -> Resident | None:
    return Resident.objects.filter(pk=resident_id).first()


def resident_history(resident: Resident) -> QuerySet[Block]:
    """The resident's ledger blocks, newest first (indexed by Block.subject)."""
    return Block.objects.filter(subject=str(resident.id)).order_by("-index")


def resident_pass_png(resident: Resident) -> bytes:
    """The printable pass card of an active resident, with their photo."""
    photo = None
    if resident.photo:
        with default_storage.open(resident.photo.name, "rb") as handle:
            photo = handle.read()
    return passes.card_png(
        token=passes.pass_token(resident.pk, resident.pass_version),
        name=resident.name,
        room=resident.room,
        photo_jpeg=photo,
        title="Resident pass",
    )


def occupancy() -> dict[str, int]:
    counts = Resident.objects.filter(is_active=True).aggregate(
        total=Count("id"),
        inside=Count("id", filter=Q(status=Resident.Status.IN)),
    )
    return {**counts, "outside": counts["total"] - counts["inside"]}


# --- The gate and the dashboard -------------------------------------------------------------


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
    since = crypto.format_timestamp(midnight)
    hours = [{"hour": hour, "in": 0, "out": 0} for hour in range(24)]
    rows = Block.objects.filter(type="scan", timestamp__gte=since).values_list("timestamp", "data")
    for timestamp, data in rows.iterator(chunk_size=2000):
        local = timezone.localtime(datetime.fromisoformat(timestamp))
        status = json.loads(data).get("status")
        if status in ("IN", "OUT"):
            hours[local.hour][status.lower()] += 1
    return hours


def latest_scans(limit: int = 10) -> QuerySet[Block]:
    return Block.objects.filter(type="scan").order_by("-index")[:limit]


def gate_list() -> QuerySet[Gate]:
    return Gate.objects.filter(is_active=True).order_by("name")


# --- Replaying scans: the ledger's word against the residents table -------------------------


def status_replay() -> dict[str, str]:
    """Each resident's status as the scan blocks say it (the last scan wins)."""
    replayed: dict[str, str] = {}
    rows = Block.objects.filter(type="scan").order_by("index").values_list("subject", "data")
    for subject, data in rows.iterator(chunk_size=5000):
        status = orjson.loads(data).get("status")
        if status in ("IN", "OUT"):
            replayed[subject] = status
    return replayed


def status_disagreements() -> list[tuple[Resident, str]]:
    """Residents whose stored status differs from the replay of their scans (no scan: OUT).

    Inside chain_verify's snapshot (PostgreSQL) the two reads agree in time. Without one
    (SQLite), a scan can land between them; each suspect is then re-read in a short
    transaction, which on SQLite holds the write lock, so only real disagreements remain.
    """
    replayed = status_replay()
    suspects = [
        (resident, replayed.get(str(resident.id), Resident.Status.OUT))
        for resident in Resident.objects.only("id", "name", "room", "status").iterator(2000)
    ]
    suspects = [
        (resident, expected) for resident, expected in suspects if resident.status != expected
    ]
    if not suspects or transaction.get_connection().in_atomic_block:
        return suspects
    confirmed = []
    for resident, _ in suspects:
        with transaction.atomic():
            current = Resident.objects.only("id", "name", "room", "status").get(pk=resident.pk)
            last = (
                Block.objects.filter(subject=str(resident.pk), type="scan")
                .order_by("-index")
                .values_list("data", flat=True)
                .first()
            )
            expected = json.loads(last).get("status") if last else Resident.Status.OUT
            if current.status != expected:
                confirmed.append((current, expected))
    return confirmed
