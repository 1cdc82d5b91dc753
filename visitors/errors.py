from hostel.errors import DomainError


class VisitorError(DomainError):
    """A visitor's check-in or check-out refused; nothing was written. Codes: "invalid",
    "inactive" (the host moved out), "checked_out" (already)."""
