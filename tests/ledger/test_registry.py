"""What apps register with the ledger: event types with their subject, fields, columns."""

import pytest

from ledger import registry
from ledger.models import Block
from ledger.services import LedgerError, block_append
from ledger.verification import chain_verify

RESIDENT = "6f1c2b7e-1f0a-4c1e-9d3a-0b8f9c7e5a11"


@pytest.mark.django_db
def test_a_registered_event_type_stores_the_subject_its_data_names() -> None:
    block = block_append(data={"type": "scan", "resident_id": RESIDENT}, subject=RESIDENT)

    assert Block.objects.get(index=block.index).subject == RESIDENT
    assert chain_verify().valid


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "subject"),
    [
        ({"type": "scan", "resident_id": RESIDENT}, ""),  # the subject left out
        ({"type": "scan", "resident_id": RESIDENT}, "someone-else"),
        ({"type": "scan"}, RESIDENT),  # a subject the data does not name
        ({"type": "test", "resident_id": RESIDENT}, RESIDENT),  # a type that names none
        ({"type": "test"}, "x" * 65),
    ],
)
def test_a_subject_that_disagrees_with_the_event_is_refused(data, subject) -> None:
    with pytest.raises(LedgerError) as caught:
        block_append(data=data, subject=subject)

    assert caught.value.code == "invalid_event"
    assert not Block.objects.exists()


def test_the_residents_app_registered_its_events_fields_and_columns() -> None:
    names = {kind.name for kind in registry.event_types()}
    assert {"scan", "register", "update", "deactivate", "pass_reissue"} <= names
    assert registry.subject_keys()["scan"] == "resident_id"
    mode = registry.event_field("mode")
    assert mode is not None and [value for value, _ in mode.choices] == [
        "qr",
        "manual",
        "face",
        "voice",
    ]
    assert registry.csv_columns()[:3] == ["resident_id", "resident_name", "room"]
    assert registry.subject().param == "resident"


@pytest.mark.django_db
@pytest.mark.parametrize("subject", ["", "0b8f9c7e-0000-4c1e-9d3a-6f1c2b7e1f0a"])
def test_an_edited_subject_of_a_registered_event_is_detected(tamper, subject) -> None:
    block = block_append(data={"type": "scan", "resident_id": RESIDENT}, subject=RESIDENT)

    tamper('UPDATE ledger_block SET subject = %s WHERE "index" = %s', [subject, block.index])

    report = chain_verify()
    assert [(p.index, p.code) for p in report.problems] == [(block.index, "format")]


@pytest.mark.django_db
def test_a_subject_named_by_a_number_is_refused() -> None:
    with pytest.raises(LedgerError, match="must be text"):
        block_append(data={"type": "scan", "resident_id": 5}, subject="5")


def test_a_second_app_cannot_silently_rename_the_subject() -> None:
    with pytest.raises(ValueError, match="already"):
        registry.register(subject=registry.Subject(param="visitor", label="Visitor"))
    assert registry.subject().param == "resident"
