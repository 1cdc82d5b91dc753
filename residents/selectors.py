"""Reads: the resident directory, one resident's ledger history, occupancy counts.
The gate's reads (who is in, curfew, today's scans) are in residents.scan_selectors."""

from typing import Any

from django.core.files.storage import default_storage
from django.db.models import Count, Q, QuerySet

from ledger import selectors as ledger_selectors
from ledger.models import Block
from residents import passes
from residents.models import Resident

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
    return ledger_selectors.subject_history(str(resident.id))


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
