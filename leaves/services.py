"""The only code that writes leaves: request, approve, refuse, and what the gate records of
a resident passing during one. Every write is a ledger block in the same transaction."""

from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from alerts.services import alert_enqueue
from leaves.errors import LeaveError
from leaves.models import Leave
from ledger.services import block_append
from residents.models import Resident
from residents.scan_selectors import curfew_passed

MAX_LENGTH = timedelta(days=60)
MAX_AHEAD = timedelta(days=180)  # how far ahead a leave may start
# Requests waiting for a decision, per resident: someone holding a pass's link cannot fill
# the resident's calendar with requests that block the real ones.
PENDING_MAX = 3
# An exit this long before an approved leave starts is leaving on it (a bus to catch).
EARLY_EXIT = timedelta(hours=3)
# Who asked, in the ledger, when it was the resident through their pass's link.
BY_RESIDENT = "resident (pass link)"

Staff = AbstractBaseUser | AnonymousUser


def leave_request(
    *,
    resident: Resident,
    kind: str,
    starts: datetime,
    ends: datetime,
    destination: str,
    reason: str = "",
    by: Staff | None,
) -> Leave:
    """A leave of ``resident`` asked for by staff (``by``) or by the resident (``by`` None),
    waiting for a warden's decision. Refused for a moved-out resident, a leave that ended
    or started more than a day ago, one longer than MAX_LENGTH, or one overlapping another
    leave of theirs that is requested or approved."""
    now = timezone.now()
    # Before any arithmetic: a year-9999 date with a negative offset overflows on the way
    # to UTC.
    if starts.year > now.year + 1 or ends.year > now.year + 1:
        raise LeaveError("invalid", "A leave is asked for at most a year ahead.")
    if ends <= starts:
        raise LeaveError("invalid", "The leave must end after it starts.")
    if starts > now + MAX_AHEAD:
        raise LeaveError("invalid", f"A leave is asked for at most {MAX_AHEAD.days} days ahead.")
    if ends <= now:
        raise LeaveError("invalid", "The leave must end in the future.")
    if starts < now - timedelta(days=1):
        raise LeaveError("invalid", "A leave cannot start more than a day ago.")
    if ends - starts > MAX_LENGTH:
        raise LeaveError("invalid", f"A leave lasts at most {MAX_LENGTH.days} days.")
    with transaction.atomic():
        # One request at a time per resident, so that two cannot overlap.
        resident = Resident.objects.select_for_update().get(pk=resident.pk)
        if not resident.is_active:
            raise LeaveError("inactive", f"{resident.name} has moved out.")
        pending = Leave.objects.filter(resident=resident, status=Leave.Status.REQUESTED)
        if pending.count() >= PENDING_MAX:
            raise LeaveError(
                "too_many_pending",
                f"{resident.name} already has {PENDING_MAX} leave requests waiting for a "
                "decision: the warden decides those first.",
            )
        overlapping = (
            Leave.objects.filter(
                resident=resident,
                status__in=[Leave.Status.REQUESTED, Leave.Status.APPROVED],
                starts__lt=ends,
                ends__gt=starts,
            )
            .order_by("starts")
            .first()
        )
        if overlapping is not None:
            raise LeaveError(
                "overlapping_leave",
                f"{resident.name} already has a leave {overlapping.status} from "
                f"{_local(overlapping.starts)} to {_local(overlapping.ends)}.",
            )
        leave = Leave(
            resident=resident,
            kind=kind,
            starts=starts,
            ends=ends,
            destination=destination.strip(),
            reason=reason.strip(),
            requested_by=_user(by),
        )
        try:
            leave.full_clean(exclude=["resident", "requested_by", "decided_by"])
        except ValidationError as exc:
            raise LeaveError("invalid", _first(exc)) from exc
        leave.save()
        _log(leave, "leave_request", by)
    return leave


def leave_approve(*, leave: Leave, by: Staff, note: str = "") -> Leave:
    return _decide(leave, by, Leave.Status.APPROVED, note)


def leave_refuse(*, leave: Leave, by: Staff, note: str = "") -> Leave:
    return _decide(leave, by, Leave.Status.REFUSED, note)


def leave_gate_passage(
    *, resident: Resident, status: str, now: datetime, since: datetime | None
) -> dict[str, Any]:
    """What a scan of ``resident`` (row locked, new ``status`` decided; ``since``: when their
    status last changed before) records of leave, inside the scan's transaction. The keys go
    into the scan's block (residents.scan_hooks).

    An exit during an approved leave, or up to EARLY_EXIT before it, is leaving on it; an exit
    after curfew without one is a curfew breach. An entry is the return from the approved
    leave the resident left on at their last exit (by a scan, or marked out by staff while
    it ran): late after its end. An entry before the leave began undoes the leaving (a short
    trip out first). A leave left on whose resident came back some other way (marked in by
    staff) is closed at that time, so that it never makes a later return look late."""
    approved = Leave.objects.select_for_update().filter(
        resident=resident, status=Leave.Status.APPROVED, returned_at__isnull=True
    )
    if since is not None:  # came back without a scan since leaving: closed then
        approved.filter(left_at__lt=since).update(returned_at=since)
    if status == Resident.Status.OUT:
        on_leave = (
            approved.filter(starts__lte=now + EARLY_EXIT, ends__gt=now).order_by("starts").first()
        )
        if on_leave is not None:
            on_leave.left_at = now
            on_leave.save(update_fields=["left_at"])
            return {"leave_id": str(on_leave.id), "leave_ends": on_leave.ends.isoformat()}
        if not curfew_passed(now):
            return {}
        _tell_guardian(
            resident,
            key=f"curfew:{resident.pk}:{timezone.localdate(now - timedelta(hours=6))}",
            subject=f"{resident.name} went out after curfew",
            body=f"{resident.name} (room {resident.room}) went out at {_local(now)}, after "
            "the curfew, without an approved leave.",
        )
        return {"curfew_breach": True}
    if since is None:
        return {}
    away = (
        approved.filter(
            Q(left_at=since)
            | Q(left_at__isnull=True, starts__lte=since + EARLY_EXIT, ends__gt=since)
        )
        .order_by("-starts")
        .first()
    )
    if away is None:
        return {}
    if now < away.starts:  # back before the leave began: not gone on it yet
        away.left_at = None
        away.save(update_fields=["left_at"])
        return {}
    away.left_at = away.left_at or since
    away.returned_at = now
    away.save(update_fields=["left_at", "returned_at"])
    if now > away.ends:
        _tell_guardian(
            resident,
            key=f"late:{away.pk}",
            subject=f"{resident.name} came back late",
            body=f"{resident.name} (room {resident.room}) came back at {_local(now)} from a "
            f"leave ({away.get_kind_display().lower()}, {away.destination}) that ended at "
            f"{_local(away.ends)}.",
        )
    return {"leave_id": str(away.id), "leave_ends": away.ends.isoformat(), "late": now > away.ends}


def _decide(leave: Leave, by: Staff, status: str, note: str) -> Leave:
    with transaction.atomic():
        leave = Leave.objects.select_for_update().select_related("resident").get(pk=leave.pk)
        if leave.status != Leave.Status.REQUESTED:
            raise LeaveError("decided", f"This leave was already {leave.status}.")
        if status == Leave.Status.APPROVED and leave.ends <= timezone.now():
            raise LeaveError("ended", "This leave has already ended: it cannot be approved.")
        if status == Leave.Status.APPROVED and not leave.resident.is_active:
            raise LeaveError("inactive", f"{leave.resident.name} has moved out.")
        leave.status = status
        leave.decided_by = _user(by)
        leave.decided_at = timezone.now()
        leave.decision_note = note.strip()
        try:
            leave.full_clean(exclude=["resident", "requested_by", "decided_by"])
        except ValidationError as exc:
            raise LeaveError("invalid", _first(exc)) from exc
        leave.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        kind = "leave_approve" if status == Leave.Status.APPROVED else "leave_refuse"
        _log(leave, kind, by, note=leave.decision_note)
    return leave


def _log(leave: Leave, kind: str, by: Staff | None, **extra: str) -> None:
    resident = leave.resident
    block_append(
        data={
            "type": kind,
            "leave_id": str(leave.id),
            "resident_id": str(resident.id),
            "resident_name": resident.name,
            "room": resident.room,
            "kind": leave.kind,
            "starts": leave.starts.isoformat(),
            "ends": leave.ends.isoformat(),
            "destination": leave.destination,
            "status": leave.status,
            "by": by.get_username() if by is not None and by.is_authenticated else BY_RESIDENT,
            **extra,
        },
        subject=str(resident.id),
    )


def _tell_guardian(resident: Resident, *, key: str, subject: str, body: str) -> None:
    """An email to the resident's guardian, sent after this transaction commits (alerts)."""
    alert_enqueue(key=key, to=[resident.guardian_email], subject=subject, body=body)


def _user(by: Staff | None) -> User | None:
    return by if isinstance(by, User) else None


def _local(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%a %d %b %H:%M")


def _first(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        field, errors = next(iter(exc.error_dict.items()))
        label = field.replace("_", " ").capitalize()
        return f"{label}: {errors[0].messages[0]}"
    return exc.messages[0]
