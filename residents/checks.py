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
    for resident, expected in status_disagreements():
        report.add(
            None,
            "resident_status",
            f"{resident.name} (room {resident.room}, {resident.id}) is stored as "
            f"{resident.status or 'having no status'} but the ledger's events say "
            f"{expected or 'it has none'}",
        )


def status_replay() -> dict[str, str]:  # residents without a status are left out
    """Each resident's status as the ledger says it (the last scan or setting wins)."""
    replayed: dict[str, str] = {}
    for subject, data in ledger_selectors.events_in_order(*STATUS_EVENTS):
        status = orjson.loads(data).get("status")
        if status in ("IN", "OUT"):
            replayed[subject] = status
        else:  # moved back in: not known until the next scan
            replayed.pop(subject, None)
    return replayed


def status_disagreements() -> list[tuple[Resident, str | None]]:
    """Residents whose stored status differs from the replay of their events (none: None).

    Inside chain_verify's snapshot (PostgreSQL) the two reads agree in time. Without one
    (SQLite), a scan can land between them; each suspect is then re-read in a short
    transaction, which on SQLite holds the write lock, so only real disagreements remain.
    """
    replayed = status_replay()
    suspects = [
        (resident, replayed.get(str(resident.id)))
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
            last = ledger_selectors.subject_history(str(resident.pk), kind=STATUS_EVENTS).first()
            expected = json.loads(last.data).get("status") if last else None
            if current.status != expected:
                confirmed.append((current, expected))
    return confirmed
