"""The residents app's domain errors. Each carries a code and a message (hostel.errors);
the API maps codes to HTTP statuses, staff pages show the message."""

from typing import TYPE_CHECKING

from hostel.errors import DomainError

if TYPE_CHECKING:
    from residents.models import Resident


class ResidentError(DomainError):
    """The change is not allowed in the resident's current state; nothing was written."""


class ScanRefused(DomainError):
    """The scan is refused and nothing was recorded; the message is for the guard.

    ``resident`` is who it was, where known, so the guard sees their photo.
    """

    def __init__(self, code: str, message: str, *, resident: "Resident | None" = None) -> None:
        super().__init__(code, message)
        self.resident = resident
