"""The gate: record a resident passing, by pass (QR), by hand, or as a face or voice matched
(residents.biometric_scans finds the match).

One transaction per scan: lock the resident's row, refuse revoked passes and moved-out
residents, ignore repeats within the debounce window, apply the gate's rule
(Gate.status_after), then write the status, its ledger block and the scan id together.
Every refusal raises ScanRefused and changes no status; residents.denials records those
that say someone may not pass, and logs every decision (the ``decided`` decorator).

A retried request (a scan id already recorded) returns the first result and never toggles
or records twice: it is looked up when the rules refuse it, or when the scan id's unique
constraint does, which rolls the attempt back; the common case, a new scan id, costs no
lookup. A retry of a denied attempt is refused again as the first was.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from ledger import selectors as ledger_selectors
from ledger.models import Block
from ledger.services import LedgerError, block_append
from residents import passes, scan_hooks
from residents.denials import decided
from residents.errors import ScanRefused
from residents.models import Gate, Resident, ScanMode, ScanRequest

# Marks a resident's first passage (since registering or moving back in), in its block: an
# exit then leaves the count of those inside as it was (reports.occupancy).
FIRST = {"first": True}


@dataclass(frozen=True)
class Score:
    """How closely a biometric scan matched: a face's distance (lower is closer) or a
    voice's similarity (higher is closer)."""

    kind: Literal["distance", "similarity"]
    value: float


@dataclass(frozen=True)
class ScanOutcome:
    resident: Resident
    block: Block
    replayed: bool  # True: a retry of a scan id already recorded; nothing new was written
    score: Score | None = None  # face and voice scans
    frame: int | None = None  # a face scan sent as frames: which of them was identified


def gate_for_scan(slug: str | None) -> Gate:
    """The active gate ``slug`` names, or without one the gate marked as the default;
    refused if there is none (a new gate never becomes anyone's default by its name)."""
    if slug is None:
        gate = Gate.objects.filter(is_default=True, is_active=True).first()
        if gate is None:
            raise ScanRefused(
                "unknown_gate",
                "Name the gate: no active gate is marked as the default (a superuser marks "
                "one in the admin).",
            )
        return gate
    gate = Gate.objects.filter(slug=slug, is_active=True).first()
    if gate is None:
        raise ScanRefused("unknown_gate", f"There is no active gate {slug!r}.")
    return gate


def resident_from_pass(token: str) -> Resident:
    """The resident whose current pass ``token`` is: the one place a pass becomes a person.

    Refused when the token is not a pass this server signed (``invalid_pass``), names
    nobody registered (``unknown_resident``) or was replaced by a newer one (``revoked_pass``).
    """
    claim = _claim(token)
    resident = _resident(claim.resident_id, lock=False, mode=ScanMode.QR)
    _refuse_a_replaced_pass(resident, claim)
    return resident


@decided()
def scan_record(
    *,
    by: AbstractBaseUser | AnonymousUser,
    gate: Gate,
    mode: str,
    token: str = "",
    resident_id: uuid.UUID | None = None,
    scan_id: uuid.UUID | None = None,
) -> ScanOutcome:
    """Record a resident passing ``gate``: IN or OUT by the gate's rules, with its block.

    ``mode`` "qr" reads the resident from a pass ``token`` (parsed once); the other modes
    take ``resident_id`` (a guard looked the resident up, or a face or voice matched). With a
    ``scan_id``, a retry of the same scan returns the first result.
    """
    return _scan(by, gate, mode, token, resident_id, scan_id, score=None)


def match_record(
    *,
    by: AbstractBaseUser | AnonymousUser,
    gate: Gate,
    mode: ScanMode,
    resident_id: uuid.UUID,
    scan_id: uuid.UUID | None,
    score: Score,
) -> ScanOutcome:
    """Record the scan of a resident a face or voice identified, keeping the match's score
    (a retry returns it with the first result). residents.biometric_scans finds the match."""
    return _scan(by, gate, mode, "", resident_id, scan_id, score=score)


def _scan(
    by: AbstractBaseUser | AnonymousUser,
    gate: Gate,
    mode: str,
    token: str,
    resident_id: uuid.UUID | None,
    scan_id: uuid.UUID | None,
    *,
    score: Score | None,
) -> ScanOutcome:
    if mode not in ScanMode.values:
        raise ScanRefused("invalid_mode", f"Unknown scan mode {mode!r}.")
    claim = _claim(token) if mode == ScanMode.QR else None
    target = claim.resident_id if claim else resident_id
    if target is None:
        raise ScanRefused("invalid", "Choose the resident to record.")
    try:
        with transaction.atomic():
            resident = _resident(target, lock=True, mode=mode)
            try:
                _refuse_a_moved_out_resident(resident)
                if claim is not None:
                    _refuse_a_replaced_pass(resident, claim)
                block = _record_locked(resident, by, gate, mode)
            except ScanRefused:
                # A retry of a recorded scan is refused as a repeat: answer it as the first.
                replayed = _replay(scan_id, resident, score)
                if replayed is not None:
                    return replayed
                raise
            if scan_id is not None:
                ScanRequest.objects.create(
                    scan_id=scan_id, resident=resident, block_index=block.index
                )
            return ScanOutcome(resident, block, False, score)
    except IntegrityError:
        # Only the scan id's unique constraint can fail here: a retry of a recorded scan that
        # the rules let through (the debounce window had passed), or one that raced the first
        # request past the lock. Everything this attempt wrote, its block included, rolled
        # back; return what the first one recorded (re-read the resident).
        replayed = _replay(scan_id, _resident(target, lock=False, mode=mode), score)
        if replayed is None:
            raise
        return replayed


def _claim(token: str) -> passes.PassClaim:
    if not token.strip():  # a client that sent no pass: nobody was at the gate with one
        raise ScanRefused("no_pass", "No pass was read: scan the resident's QR code.")
    try:
        return passes.pass_read(token)
    except passes.PassError as exc:
        raise ScanRefused("invalid_pass", str(exc)) from exc


def _refuse_a_replaced_pass(resident: Resident, claim: passes.PassClaim) -> None:
    if claim.version != resident.pass_version:
        raise ScanRefused(
            "revoked_pass",
            "This pass has been replaced by a newer one and no longer works. Ask the resident "
            "for their current pass.",
            resident=resident,
        )


def _refuse_a_moved_out_resident(resident: Resident) -> None:
    if not resident.is_active:
        raise ScanRefused(
            "inactive_resident",
            f"{resident.name} has moved out; their pass no longer opens the gate.",
            resident=resident,
        )


def _resident(pk: uuid.UUID, *, lock: bool, mode: str) -> Resident:
    residents = Resident.objects.select_for_update() if lock else Resident.objects.all()
    # Not the embeddings (kilobytes each): a scan never reads them from this row.
    resident = residents.defer(*Resident.EMBEDDINGS).filter(pk=pk).first()
    if resident is None:
        whom = "This pass belongs to" if mode == ScanMode.QR else "There is"
        raise ScanRefused("unknown_resident", f"{whom} nobody registered here.")
    return resident


def _replay(
    scan_id: uuid.UUID | None, resident: Resident, score: Score | None
) -> ScanOutcome | None:
    """The first result of a scan id already recorded for ``resident``, if any (with the
    score of this attempt's biometric match, which the first one had too)."""
    if scan_id is None:
        return None
    previous = ScanRequest.objects.filter(scan_id=scan_id).first()
    if previous is None:
        return None
    if previous.resident_id not in (None, resident.pk):
        raise ScanRefused("scan_id_reused", "This scan id was already used for another resident.")
    block = ledger_selectors.block_get(previous.block_index)
    if block is None:  # committed together with the scan request: the chain was cut
        raise LedgerError(
            "ledger_error",
            f"Scan {scan_id} was recorded in block {previous.block_index}, which is missing. "
            "Run `manage.py verify_chain`.",
        )
    if block.type == "denied":  # the first attempt was denied: so is its retry
        event = block.payload
        raise ScanRefused(event["code"], event["reason"], resident=resident, replayed=True)
    return ScanOutcome(resident, block, True, score)


def _record_locked(
    resident: Resident, by: AbstractBaseUser | AnonymousUser, gate: Gate, mode: str
) -> Block:
    """Record a scan of ``resident`` (whose row this transaction has locked), unless it
    repeats one within the debounce window or the gate's rule refuses it."""
    now = timezone.now()
    ago = resident.seconds_since_scan(now, within=timedelta(seconds=settings.SCAN_DEBOUNCE_SECONDS))
    if ago is not None:
        raise ScanRefused(
            "duplicate_scan",
            f"{resident.name} was scanned {ago} s ago; the repeat is ignored.",
            resident=resident,
        )
    since = resident.status_changed_at  # the last exit or entry, by a scan or by staff
    first = resident.status is None  # no status before: the count inside did not drop
    resident.status = gate.status_after(resident)
    resident.last_scan_at = resident.status_changed_at = now
    resident.save(update_fields=["status", "last_scan_at", "status_changed_at", "updated_at"])
    # What other apps know of this passage (an approved leave, a late return); never in
    # place of the scan's own keys.
    extra = scan_hooks.annotations(resident, gate, resident.status, now, since)
    return block_append(
        data={
            **extra,
            "type": "scan",
            "resident_id": str(resident.id),
            "resident_name": resident.name,
            "room": resident.room,
            "mode": mode,
            "status": resident.status,
            "gate": gate.slug,
            "by": by.get_username(),
            **(FIRST if first else {}),
        },
        subject=str(resident.id),
    )
