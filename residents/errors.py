"""The residents app's domain errors. Each carries a code and a message (hostel.errors);
the API maps codes to HTTP statuses, staff pages show the message."""

from typing import TYPE_CHECKING, Any

from hostel.errors import DomainError

if TYPE_CHECKING:
    from residents.models import Resident


class ResidentError(DomainError):
    """The change is not allowed in the resident's current state; nothing was written.

    ``resident`` is another resident the refusal names (the one whose face a new photo
    shows), so staff see who it is.
    """

    def __init__(self, code: str, message: str, *, resident: "Resident | None" = None) -> None:
        super().__init__(code, message)
        self.resident = resident


class ScanRefused(DomainError):
    """The scan is refused and nothing was recorded; the message is for the guard.

    ``resident`` is who it was, where known, so the guard sees their photo. ``replayed``: the
    answer to a retry of an attempt already denied (residents.scans records it only once).
    ``closest``: for a face no resident matched confidently, the active resident it came
    closest to, if within the same-person limit, and its ``distance`` (a warden who checks
    it is them can add the photo to their enrolment); never recorded as who it was.
    ``frame``: of a face scan's frames, the one that was identified (0-based).
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        resident: "Resident | None" = None,
        replayed: bool = False,
        closest: "Resident | None" = None,
        distance: float | None = None,
        frame: int | None = None,
    ) -> None:
        super().__init__(code, message)
        self.resident = resident
        self.replayed = replayed
        self.closest = closest
        self.distance = distance
        self.frame = frame


class ImportRefused(DomainError):
    """A spreadsheet of residents was not imported, and nothing was written: the file cannot
    be read as residents (code "invalid_file"), or some of its rows are wrong ("invalid_rows",
    with ``rows``: residents.imports.Row)."""

    def __init__(self, code: str, message: str, *, rows: list[Any] | None = None) -> None:
        super().__init__(code, message)
        self.rows = rows or []
