"""The residents' check for chain_verify(): stored status against the replayed scans."""

from ledger.verification import Report
from residents.selectors import status_disagreements


def resident_status_check(report: Report) -> None:
    for resident, expected in status_disagreements():
        report.add(
            None,
            "resident_status",
            f"{resident.name} (room {resident.room}, {resident.id}) is stored as "
            f"{resident.status} but the ledger's scans say {expected}",
        )
