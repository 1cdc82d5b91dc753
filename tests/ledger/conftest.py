"""Fixtures of the ledger's tests."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from ledger.services import block_append

LAST_YEAR = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def history(db, monkeypatch):
    """A chain whose first blocks are dated last January and the rest today: ``old`` +
    genesis blocks before CUT, then ``new`` blocks now."""

    def build(old: int, new: int, *, start: datetime = LAST_YEAR) -> None:
        moments = iter(start + timedelta(minutes=i) for i in range(old + 1))
        with monkeypatch.context() as clock:
            clock.setattr(timezone, "now", lambda: next(moments))
            for i in range(old):
                block_append(data={"type": "test", "n": i, "note": "last year"})
        for i in range(new):
            block_append(data={"type": "test", "n": old + i, "note": "this year"})

    return build
