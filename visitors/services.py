"""The only code that writes visitors: check in (with the day pass), check out, and delete
old photos (cron). Each is a ledger block in the same transaction."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ledger.models import Block
from ledger.services import block_append
from residents.models import Gate, Resident
from residents.storage import file_store, files_delete_on_commit, files_kept_only_on_commit
from residents.uploads import Photo
from visitors.errors import VisitorError
from visitors.models import Visitor
from visitors.passes import VisitorPassClaim

Staff = AbstractBaseUser | AnonymousUser
MAX_HOURS = 16


def visitor_check_in(
    *, name: str, phone: str, host: Resident, hours: float, photo: Photo | None, by: Staff
) -> Visitor:
    """Let a visitor in to see ``host`` for ``hours`` (their day pass ends with the day)."""
    if not 0 < hours <= MAX_HOURS:
        raise VisitorError("invalid", f"A visit lasts up to {MAX_HOURS} hours.")
    now = timezone.now()
    with files_kept_only_on_commit() as written, transaction.atomic():
        host = Resident.objects.select_for_update().get(pk=host.pk)
        if not host.is_active:
            raise VisitorError("inactive", f"{host.name} has moved out: no visits.")
        visitor = Visitor(
            name=name.strip(),
            phone=phone.strip(),
            host=host,
            expected_until=now + timedelta(hours=hours),
            checked_in_at=now,
            checked_in_by=by if isinstance(by, User) else None,
        )
        try:
            visitor.full_clean(exclude=["host", "photo", "checked_in_by", "checked_out_by"])
        except ValidationError as exc:
            field, errors = next(iter(exc.message_dict.items()))
            raise VisitorError("invalid", f"{field.capitalize()}: {errors[0]}") from exc
        if photo is not None:
            written(file_store(visitor.photo, photo.jpeg, "jpg"))
        visitor.save()
        _log(visitor, "visitor_in", by, until=visitor.expected_until.isoformat())
    return visitor


def visitor_check_out(*, visitor: Visitor, by: Staff) -> Visitor:
    return _check_out(visitor.pk, by)[0]


def visitor_pass_check_out(
    *, claim: VisitorPassClaim, by: Staff, gate: Gate, scan_id: uuid.UUID | None = None
) -> tuple[Visitor, Block, bool]:
    """A visitor's day pass read at ``gate``: the visitor is let out. Returns the visitor,
    the block (naming the gate and ``scan_id``) and whether it is a replay: a retry of a
    scan id already recorded gets its first answer again. A pass of an earlier day still
    lets out a visitor who stayed past midnight. Refused at an entry-only gate
    (``anti_passback``), for a visitor let in within SCAN_DEBOUNCE_SECONDS
    (``duplicate_scan``: their pass read as they came in), and for one already out
    (``checked_out``)."""
    visitor = Visitor.objects.filter(pk=claim.visitor_id).first()
    if visitor is None:
        raise VisitorError("invalid_pass", "This visitor's pass names no visitor of this hostel.")
    if scan_id is not None and visitor.checked_out_at is not None:
        first = _out_block(visitor, scan_id)
        if first is not None:
            return visitor, first, True
    if gate.mode == Gate.Mode.ENTRY:
        raise VisitorError(
            "anti_passback",
            f"{gate.name} is an entry: let {visitor.name} out at an exit, or with Check out "
            "at Visitors.",
        )
    extra = {"scan_id": str(scan_id)} if scan_id else {}
    visitor, block = _check_out(visitor.pk, by, gate.slug, **extra)
    return visitor, block, False


def _out_block(visitor: Visitor, scan_id: uuid.UUID) -> Block | None:
    """The block that let ``visitor`` out under ``scan_id``, if one did."""
    for block in Block.objects.filter(type="visitor_out", subject=str(visitor.host_id)).order_by(
        "-index"
    )[:50]:
        payload = block.payload
        if payload.get("visitor_id") == str(visitor.pk):
            return block if payload.get("scan_id") == str(scan_id) else None
    return None


def _check_out(pk: Any, by: Staff, gate: str = "", **extra: str) -> tuple[Visitor, Block]:
    with transaction.atomic():
        visitor = Visitor.objects.select_for_update().select_related("host").get(pk=pk)
        if visitor.checked_out_at is not None:
            raise VisitorError(
                "checked_out",
                f"{visitor.name} was checked out at "
                f"{timezone.localtime(visitor.checked_out_at):%H:%M}.",
            )
        now = timezone.now()
        if gate and now - visitor.checked_in_at < timedelta(seconds=settings.SCAN_DEBOUNCE_SECONDS):
            raise VisitorError(
                "duplicate_scan",
                f"{visitor.name} was let in a moment ago: scan their pass when they leave.",
            )
        visitor.checked_out_at = now
        visitor.checked_out_by = by if isinstance(by, User) else None
        visitor.save(update_fields=["checked_out_at", "checked_out_by"])
        at_gate = {"gate": gate, "mode": "qr", **extra} if gate else {}
        block = _log(visitor, "visitor_out", by, **at_gate)
    return visitor, block


@dataclass(frozen=True)
class PhotoPurge:
    count: int
    before: datetime


def visitor_photos_purge(*, now: datetime | None = None, dry_run: bool = False) -> PhotoPurge:
    """Delete the photos of visitors checked in more than VISITOR_RETENTION_DAYS ago (the
    files once the transaction commits), with one ledger block saying how many."""
    before = (now or timezone.now()) - timedelta(days=settings.VISITOR_RETENTION_DAYS)
    old = Visitor.objects.filter(checked_in_at__lt=before, photo_deleted_at__isnull=True)
    old = old.exclude(photo="")
    if dry_run:
        return PhotoPurge(old.count(), before)
    with transaction.atomic():
        rows = list(old.select_for_update().only("id", "photo"))
        if not rows:
            return PhotoPurge(0, before)
        files_delete_on_commit([row.photo.name for row in rows])
        Visitor.objects.filter(pk__in=[row.pk for row in rows]).update(
            photo="", photo_deleted_at=timezone.now()
        )
        block_append(
            data={
                "type": "visitor_photos_deleted",
                "count": len(rows),
                "checked_in_before": before.isoformat(),
                "by": "retention",
            }
        )
    return PhotoPurge(len(rows), before)


def _log(visitor: Visitor, kind: str, by: Staff, **extra: str) -> Block:
    return block_append(
        data={
            "type": kind,
            "visitor_id": str(visitor.id),
            "visitor_name": visitor.name,
            "resident_id": str(visitor.host.id),
            "resident_name": visitor.host.name,
            "room": visitor.host.room,
            "by": by.get_username(),
            **extra,
        },
        subject=str(visitor.host.id),
    )
