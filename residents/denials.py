"""What the gate decided, kept: every scan function's decision is logged, and a refusal
that says someone may not pass (DENIED: a pass that is not ours or was replaced, a
moved-out resident, anti-passback, a face or voice with no confident match) is recorded,
after the attempt rolled back, as a "denied" block: the code, the reason shown to the
guard, gate, mode, who scanned and the resident where known, never the token or the sample.

Recorded once: not a repeat within the debounce window (a duplicate_scan is no denial), not
the same denial again within that window (of the same resident at the same gate, or, for a
denial that names nobody, by the same guard at the same gate), and not a retry of an
attempt already recorded (its scan id; residents.scans replays it as refused).
"""

import functools
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, ParamSpec

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from alerts.services import alert_enqueue, alert_exists
from ledger import selectors as ledger_selectors
from ledger.services import LedgerError, block_append
from residents.errors import ScanRefused
from residents.models import Gate, Resident, ScanMode, ScanRequest

if TYPE_CHECKING:
    from residents.scans import ScanOutcome

log = logging.getLogger("residents.scans")
P = ParamSpec("P")


# Refusals that say who may not pass: recorded as "denied" blocks. The others say nothing
# about the person (no face in the photo, silence, a repeat, an unknown gate, a bad request).
DENIED = {  # code: what the ledger's filter calls it
    "invalid_pass": "Not a hostel pass (or forged)",
    "unknown_resident": "Pass of nobody registered",
    "revoked_pass": "Replaced pass",
    "inactive_resident": "Moved out",
    "anti_passback": "Anti-passback",
    "no_confident_match": "Face or voice not matched",
    "not_live": "Face that did not turn (a photo or a screen?)",
    "wrong_direction": "Face turned the other way (a video?)",
    "different_people": "Face that changed during the scan",
}


ScanFunction = Callable[P, "ScanOutcome"]


def decided(mode: str | None = None) -> Callable[[ScanFunction[P]], ScanFunction[P]]:
    """Log every decision of a scan function (what was recorded, or the refusal's code) and
    record its denials. ``mode`` for functions that take none (a face scan is "face")."""

    def decorate(record: ScanFunction[P]) -> ScanFunction[P]:
        @functools.wraps(record)
        def deciding(*args: P.args, **kwargs: P.kwargs) -> "ScanOutcome":
            gate = kwargs.get("gate")
            how = mode or str(kwargs.get("mode", ""))
            try:
                return _logged(record(*args, **kwargs), gate)
            except ScanRefused as refusal:
                whom = str(refusal.resident.pk) if refusal.resident else ""
                log.info(
                    "scan refused: %s",
                    refusal.code,
                    extra={
                        "gate": getattr(gate, "slug", ""),
                        "mode": how,
                        "code": refusal.code,
                        "resident_id": whom,
                    },
                )
                by, scan_id = kwargs["by"], kwargs.get("scan_id")
                if (
                    refusal.code in DENIED
                    and not refusal.replayed
                    and isinstance(gate, Gate)
                    and isinstance(by, AbstractBaseUser | AnonymousUser)
                    and (scan_id is None or isinstance(scan_id, uuid.UUID))
                ):
                    _deny(refusal, by=by, gate=gate, mode=how, scan_id=scan_id)
                raise

        return deciding

    return decorate


def _logged(outcome: "ScanOutcome", gate: object) -> "ScanOutcome":
    event = outcome.block.payload
    log.info(
        "scan %s",
        "replayed" if outcome.replayed else event["status"],
        extra={
            "gate": getattr(gate, "slug", ""),
            "code": "replayed" if outcome.replayed else "recorded",
            "mode": event["mode"],
            "status": event["status"],
            "resident_id": event["resident_id"],
            "block": outcome.block.index,
        },
    )
    return outcome


def _deny(
    refusal: ScanRefused,
    *,
    by: AbstractBaseUser | AnonymousUser,
    gate: Gate,
    mode: str,
    scan_id: uuid.UUID | None,
) -> None:
    """Record a denied attempt, unless it is a retry of one already recorded or repeats the
    same denial of the same resident at this gate within the debounce window."""
    resident = refusal.resident
    if resident is None and mode == ScanMode.MANUAL:
        return  # a guard's pick that names nobody: a bad request, not someone at the gate
    if scan_id is not None and ScanRequest.objects.filter(scan_id=scan_id).exists():
        return
    data: dict[str, str] = {
        "type": "denied",
        "code": refusal.code,
        "reason": refusal.message,
        "mode": mode,
        "gate": gate.slug,
        "by": by.get_username(),
    }
    if resident is not None:
        data |= {
            "resident_id": str(resident.pk),
            "resident_name": resident.name,
            "room": resident.room,
        }
    try:
        with transaction.atomic():
            if resident is not None:  # one request at a time decides for this resident
                Resident.objects.select_for_update().filter(pk=resident.pk).exists()
            if _denied_just_now(data):
                return
            block = block_append(data=data, subject=str(resident.pk) if resident else "")
            if scan_id is not None:
                ScanRequest.objects.create(
                    scan_id=scan_id, resident=resident, block_index=block.index
                )
            _warn_wardens_of_many_denials()
    except IntegrityError:
        return  # a concurrent retry of this attempt recorded it
    except (LedgerError, DatabaseError) as exc:
        # The guard still sees the refusal; the missing record is logged for the warden.
        log.error("denied attempt not recorded (%s): %s at %s", exc, refusal.code, gate.slug)


def _warn_wardens_of_many_denials() -> None:
    """Once the denied attempts of the past hour reach DENIED_ALERT_PER_HOUR, email the
    wardens (those with an address) once for that hour: someone may be trying passes."""
    now = timezone.now()
    threshold = settings.DENIED_ALERT_PER_HOUR
    key = f"denied:{timezone.localtime(now):%Y-%m-%d %H:00}"
    if threshold <= 0 or alert_exists(key):  # told this hour already: no count to make
        return
    count = ledger_selectors.count_since("denied", now - timedelta(hours=1))
    if count < threshold:
        return
    wardens = User.objects.filter(groups__name="wardens", is_active=True).exclude(email="")
    alert_enqueue(
        key=key,
        to=list(wardens.values_list("email", flat=True)),
        subject=f"{count} denied attempts at the gate in the past hour",
        body=(
            f"{count} attempts were refused at the gate in the hour up to "
            f"{timezone.localtime(now):%Y-%m-%d %H:%M %Z} (the alert is sent at "
            f"{threshold} an hour, once an hour). The dashboard and the ledger (Event: "
            "Denied attempts) list them with their reasons."
        ),
    )


def _denied_just_now(data: dict[str, str]) -> bool:
    """The same denial within the debounce window: the same code at the same gate, of the
    same resident, or, naming nobody, by the same guard."""
    since = timezone.now() - timedelta(seconds=settings.SCAN_DEBOUNCE_SECONDS)
    subject = data.get("resident_id", "")
    recent = ledger_selectors.subject_events_since(subject, "denied", since)
    same = ("code", "gate") if subject else ("code", "gate", "by")
    return any(all(block.payload.get(key) == data[key] for key in same) for block in recent[:20])
