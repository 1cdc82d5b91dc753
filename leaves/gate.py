"""What the gate shows of leave (residents.scan_hooks): registered by LeavesConfig.ready()."""

from datetime import datetime
from typing import Any

from django.utils import timezone

from leaves.services import leave_gate_passage
from residents.models import Gate, Resident
from residents.scan_hooks import Note, ScanHook


def annotate(
    resident: Resident, gate: Gate, status: str, now: datetime, since: datetime | None
) -> dict[str, Any]:
    return leave_gate_passage(resident=resident, status=status, now=now, since=since)


def describe(data: dict[str, Any]) -> list[Note]:
    if data.get("curfew_breach"):
        return [Note("warning", "After curfew, without an approved leave: tell the warden.")]
    if "leave_id" not in data:
        return []
    ends = timezone.localtime(datetime.fromisoformat(data["leave_ends"]))
    until = ends.strftime("%a %d %b %H:%M")
    if data.get("status") == Resident.Status.OUT:
        return [Note("info", f"On approved leave until {until}.")]
    if data.get("late"):
        return [Note("warning", f"LATE: back from a leave that ended {until}.")]
    return [Note("info", "Back from leave, in time.")]


HOOK = ScanHook(annotate=annotate, describe=describe)
