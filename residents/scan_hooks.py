"""What other apps add to a scan at the gate, so that residents never name them.

An app registers, from its AppConfig.ready(), a ScanHook:

- ``annotate(resident, gate, status, now, since)``: called inside the scan's transaction,
  with the resident's row locked and the new status decided, before the block is written;
  ``since`` is when the status last changed before (by a scan or by staff), or None. It may
  write its own rows (through its services) and returns keys to add to the scan's block
  data (``{}`` for none): they are recorded, hashed and signed with the scan. A hook that
  raises refuses nothing: it rolls the scan back, so hooks do not raise.
- ``describe(data)``: what the guard is told of a recorded scan's block data (its own keys),
  as Notes; read again for a retried scan, so a retry says what the first answer said.

An app whose own QR codes the gate's camera may read (a visitor's day pass) registers a
PassReader: ``read(token, by, gate, scan_id)`` returns the scan API's answer for a code of
its own (a dict like a scan's: "event" with "status", "name", "photo_url"; "block";
"notes"; "replayed" for a retry of ``scan_id``), raises a DomainError to refuse it, or
returns None for a code that is not its own, which then goes to the residents' pass
reader.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from residents.models import Gate, Resident


@dataclass(frozen=True)
class Note:
    """A line for the guard beside IN or OUT: "info" (leave approved) or "warning" (late,
    after curfew without leave), which the gate shows in its warning colour."""

    level: Literal["info", "warning"]
    message: str


@dataclass(frozen=True)
class ScanHook:
    annotate: Callable[["Resident", "Gate", str, datetime, datetime | None], dict[str, Any]]
    describe: Callable[[dict[str, Any]], list[Note]]


_hooks: list[ScanHook] = []


def register(hook: ScanHook) -> None:
    if hook not in _hooks:
        _hooks.append(hook)


def annotations(
    resident: "Resident", gate: "Gate", status: str, now: datetime, since: datetime | None
) -> dict[str, Any]:
    added: dict[str, Any] = {}
    for hook in _hooks:
        added.update(hook.annotate(resident, gate, status, now, since))
    return added


def notes(data: dict[str, Any]) -> list[Note]:
    return [note for hook in _hooks for note in hook.describe(data)]


PassReader = Callable[[str, Any, "Gate", "uuid.UUID | None"], dict[str, Any] | None]
_readers: list[PassReader] = []


def register_reader(reader: PassReader) -> None:
    if reader not in _readers:
        _readers.append(reader)


def pass_answer(
    token: str, by: Any, gate: "Gate", scan_id: "uuid.UUID | None"
) -> dict[str, Any] | None:
    """Another app's answer to a QR code that is its own, or None."""
    for reader in _readers:
        answer = reader(token, by, gate, scan_id)
        if answer is not None:
            return answer
    return None
