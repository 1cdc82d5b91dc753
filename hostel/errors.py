"""The one shape of a domain error: a code a program can branch on, a message a person reads.

Services raise subclasses of DomainError (ScanRefused, ResidentError, UploadError,
LedgerError). They never name an HTTP status: the API layer maps codes to statuses in one
table (hostel.api.ERROR_STATUS), and staff pages show the message. Pure: no Django here,
so the pure modules (uploads, passes) can raise these too.
"""


class DomainError(Exception):
    """Nothing was changed; ``code`` says why for programs, the message for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def message(self) -> str:
        return str(self)
