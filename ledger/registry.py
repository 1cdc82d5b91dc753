"""What other apps tell the ledger about their events, so that the ledger never names them.

The ledger stores and verifies events for any app. An app registers, from its
AppConfig.ready():

- its event types: the value of ``data["type"]``, a label for people, the data key (if any)
  that names the event's subject, and the template that shows one such event in a list.
  block_append() stores that key's value in the indexed Block.subject column, and
  verification holds the column to it; a type that names no subject has an empty one;
- the fields of its events that the ledger's filters offer, with their choices (fixed, or
  read when the page is shown, like the gates);
- the columns of the CSV export, and what the subject is called (label and query parameter),
  and how a name typed in the subject filter finds subjects;
- extra checks that chain_verify() runs after the chain itself, reporting through the same
  report (the residents' status replay).
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ledger.verification import Report

ExtraCheck = Callable[["Report"], None]

DEFAULT_EVENT_TEMPLATE = "ledger/_event.html"


@dataclass(frozen=True)
class EventType:
    name: str  # data["type"]
    label: str  # plural, for a filter: "Scans"
    subject_key: str = ""  # the data key holding the subject's id ("" when there is none)
    template: str = DEFAULT_EVENT_TEMPLATE  # renders one event's cells in the ledger list


@dataclass(frozen=True)
class EventField:
    """A key of some event types' data that the ledger's filters can match exactly."""

    key: str
    label: str  # "Mode"; the filter's empty choice reads "Any mode"
    types: tuple[str, ...]  # the event types whose data carries it
    choices: tuple[tuple[str, str], ...] = ()  # () for free text (a slug)
    # Choices read when a filter form is built (the pages list them; the API takes any slug).
    options: Callable[[], Sequence[tuple[str, str]]] | None = None


@dataclass(frozen=True)
class Subject:
    """What the events' subject is called: ``?resident=<id>`` filters, "Resident" heads.
    ``lookup(text, limit)`` finds subjects by what people type: [(id, label), ...]."""

    param: str = "subject"
    label: str = "Subject"
    lookup: Callable[[str, int], list[tuple[str, str]]] | None = None
    hint: str = ""  # what the filter's box asks people to type, beside the label


_event_types: dict[str, EventType] = {}
_fields: dict[str, EventField] = {}
_csv_columns: list[str] = []
_subject = Subject()
_checks: list[ExtraCheck] = []


def register(
    *,
    event_types: Iterable[EventType] = (),
    fields: Iterable[EventField] = (),
    csv_columns: Iterable[str] = (),
    subject: Subject | None = None,
    checks: Iterable[ExtraCheck] = (),
) -> None:
    """Add an app's event types, fields, CSV columns and verification checks (idempotent)."""
    global _subject
    for event_type in event_types:
        _event_types[event_type.name] = event_type
    for event_field in fields:
        _fields[event_field.key] = event_field
    _csv_columns.extend(column for column in csv_columns if column not in _csv_columns)
    if subject is not None:
        if _subject not in (Subject(), subject):
            raise ValueError(f"the ledger's subject is already {_subject}, not {subject}")
        _subject = subject
    _checks.extend(check for check in checks if check not in _checks)


def unregister_check(check: ExtraCheck) -> None:
    if check in _checks:
        _checks.remove(check)


def extra_checks() -> list[ExtraCheck]:
    return list(_checks)


def event_types() -> list[EventType]:
    return list(_event_types.values())


def event_template(name: str) -> str:
    event_type = _event_types.get(name)
    return event_type.template if event_type else DEFAULT_EVENT_TEMPLATE


def subject_keys() -> dict[str, str]:
    """Event type -> the data key its subject is read from (types without one left out)."""
    return {name: kind.subject_key for name, kind in _event_types.items() if kind.subject_key}


def event_fields() -> list[EventField]:
    return list(_fields.values())


def event_field(key: str) -> EventField | None:
    return _fields.get(key)


def csv_columns() -> list[str]:
    return list(_csv_columns)


def subject() -> Subject:
    return _subject
