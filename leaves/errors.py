from hostel.errors import DomainError


class LeaveError(DomainError):
    """A leave request or decision refused; nothing was written. Codes: "invalid",
    "inactive" (a moved-out resident), "overlapping_leave", "too_many_pending", "decided"
    (already approved or refused), "ended"."""
