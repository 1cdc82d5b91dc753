"""What residents add to chain verification: stored status against the replayed scans (and
the statuses staff set by hand: STATUS_EVENTS). A resident with neither has no status.

resident_status_check is registered with the ledger as an extra check of chain_verify (see
ResidentsConfig.ready and ledger.registry), so the ledger never imports residents.
"""

import json

import orjson
from django.db import transaction

from ledger import selectors as ledger_selectors
from ledger.verification import Report
from residents.models import Resident

# The events that set a resident's status from then on: a scan's or staff's "status", and a
# move back in, which clears it.
STATUS_EVENTS = ("scan", "status", "reactivate")


def resident_status_check(report: Report) -> None:
    disagreements, unchecked = status_disagreements()
    if unchecked:
        report.notes.append(
            f"{unchecked} resident(s) registered in the archived years have no stored status "
            "event: their status rests on archived events and was not replayed (the replay "
            "reads the events stored in the database)"
        )
    for resident, expected in disagreements:
        report.add(
            None,
            "resident_status",
            f"{resident.name} (room {resident.room}, {resident.id}) is stored as "
            f"{resident.status or 'having no status'} but the ledger's events say "
            f"{expected or 'it has none'}",
        )


def status_replay() -> dict[str, str | None]:
    """Each resident's status as the ledger's stored events say it (the last scan or setting
    wins; None after a move back in). Residents with no such event are left out."""
    replayed: dict[str, str | None] = {}
    for subject, data in ledger_selectors.events_in_order(*STATUS_EVENTS):
        status = orjson.loads(data).get("status")
        # A move back in: not known until the next scan.
        replayed[subject] = status if status in ("IN", "OUT") else None
    return replayed


def status_disagreements() -> tuple[list[tuple[Resident, str | None]], int]:
    """Residents whose stored status differs from the replay of their events (none: None),
    and how many residents could not be replayed because their events are archived.

    Inside chain_verify's snapshot (PostgreSQL) the two reads agree in time. Without one
    (SQLite), a scan can land between them; each suspect is then re-read in a short
    transaction, which on SQLite holds the write lock, so only real disagreements remain.
    """
    replayed = status_replay()
    # After an archive, a resident whose registration is no longer stored may have status
    # events only in the archive; one whose registration is stored has every event stored.
    registered = (
        ledger_selectors.stored_subjects("register")
        if ledger_selectors.archive_anchor() is not None
        else None
    )
    suspects, unchecked = [], 0
    for resident in Resident.objects.only("id", "name", "room", "status").iterator(2000):
        expected = replayed.get(str(resident.id))
        if resident.status == expected:
            continue
        if registered is not None and str(resident.id) not in registered:
            unchecked += 1  # registered in the archived years: not replayed here
            continue
        suspects.append((resident, expected))
    if not suspects or transaction.get_connection().in_atomic_block:
        return suspects, unchecked
    confirmed = []
    for resident, _ in suspects:
        with transaction.atomic():
            current = Resident.objects.only("id", "name", "room", "status").get(pk=resident.pk)
            last = ledger_selectors.subject_history(str(resident.pk), kind=STATUS_EVENTS).first()
            expected = json.loads(last.data).get("status") if last else None
            if current.status != expected:
                confirmed.append((current, expected))
    return confirmed, unchecked
