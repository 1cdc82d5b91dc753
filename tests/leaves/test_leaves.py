"""Leave: asked for, decided, and read by the gate; every step in the ledger."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from leaves import selectors, services
from leaves.errors import LeaveError
from leaves.models import Leave
from ledger.models import Block
from residents import scan_hooks, scans
from residents import services as resident_services
from residents.models import Resident

pytestmark = pytest.mark.django_db


def ask(resident, by, *, hours_from=1, hours=24, **extra) -> Leave:
    now = timezone.now()
    return services.leave_request(
        resident=resident,
        by=by,
        kind=extra.pop("kind", "home"),
        starts=now + timedelta(hours=hours_from),
        ends=now + timedelta(hours=hours_from + hours),
        destination=extra.pop("destination", "Lagos"),
        **extra,
    )


def blocks(kind: str) -> list[dict]:
    return [b.payload for b in Block.objects.filter(type=kind).order_by("index")]


def scan(resident, by, gate):
    return scans.scan_record(by=by, gate=gate, mode="manual", resident_id=resident.pk)


def no_curfew(settings) -> None:
    settings.CURFEW = ""


def curfew_now(settings) -> None:
    """A curfew that has passed, whatever the time of day the test runs."""
    settings.CURFEW = "06:00" if timezone.localtime().hour >= 6 else "23:00"


def test_a_warden_asks_and_approves_and_the_ledger_has_both(resident, warden) -> None:
    leave = ask(resident, warden)
    assert leave.status == "requested"

    services.leave_approve(leave=leave, by=warden, note="Safe travels")

    leave.refresh_from_db()
    assert (leave.status, leave.decided_by, leave.decision_note) == (
        "approved",
        warden,
        "Safe travels",
    )
    requested, approved = blocks("leave_request"), blocks("leave_approve")
    assert [b["leave_id"] for b in requested + approved] == [str(leave.pk)] * 2
    assert requested[0]["status"] == "requested" and requested[0]["by"] == "wendy"
    assert approved[0]["note"] == "Safe travels"
    call_command("verify_chain")  # valid: raises SystemExit on problems


def test_a_decided_leave_cannot_be_decided_again(resident, warden) -> None:
    leave = services.leave_refuse(leave=ask(resident, warden), by=warden)

    with pytest.raises(LeaveError) as caught:
        services.leave_approve(leave=leave, by=warden)

    assert caught.value.code == "decided"
    assert blocks("leave_approve") == []


@pytest.mark.parametrize(
    ("hours_from", "hours", "message"),
    [
        (2, -1, "must end after it starts"),
        (-30, 1, "must end in the future"),
        (-30, 40, "more than a day ago"),
        (1, 24 * 61, "at most 60 days"),
    ],
)
def test_impossible_leave_is_refused_and_nothing_written(
    resident, warden, hours_from, hours, message
) -> None:
    with pytest.raises(LeaveError) as caught:
        ask(resident, warden, hours_from=hours_from, hours=hours)

    assert message in caught.value.message
    assert Leave.objects.count() == 0 and blocks("leave_request") == []


def test_an_overlapping_leave_is_refused(resident, warden) -> None:
    ask(resident, warden, hours_from=1, hours=24)

    with pytest.raises(LeaveError) as caught:
        ask(resident, warden, hours_from=20, hours=24)

    assert caught.value.code == "overlapping_leave"
    assert "already has a leave requested" in caught.value.message


def test_a_moved_out_resident_cannot_ask(resident, warden) -> None:
    resident_services.resident_deactivate(resident=resident, by=warden)

    with pytest.raises(LeaveError) as caught:
        ask(resident, warden)

    assert caught.value.code == "inactive"


def test_an_exit_during_approved_leave_is_shown_and_recorded_as_such(
    resident, warden, guard, main_gate, settings
) -> None:
    curfew_now(settings)  # an approved leave is not a curfew breach
    resident_services.resident_status_set(resident=resident, by=warden, status="IN")
    leave = services.leave_approve(leave=ask(resident, warden, hours_from=-1), by=warden)

    outcome = scan(resident, guard, main_gate)

    assert outcome.block.payload["status"] == "OUT"
    assert outcome.block.payload["leave_id"] == str(leave.pk)
    assert "curfew_breach" not in outcome.block.payload
    [note] = scan_hooks.notes(outcome.block.payload)
    assert note.level == "info" and note.message.startswith("On approved leave until")
    leave.refresh_from_db()
    assert leave.left_at == outcome.resident.last_scan_at


def test_a_return_after_the_leave_ended_is_late_and_listed(
    resident, warden, guard, main_gate, settings
) -> None:
    no_curfew(settings)
    resident_services.resident_status_set(resident=resident, by=warden, status="IN")
    leave = services.leave_approve(leave=ask(resident, warden, hours_from=-1), by=warden)
    scan(resident, guard, main_gate)  # out, on leave
    # The leave ended an hour ago (as if the resident had stayed away past it).
    Leave.objects.filter(pk=leave.pk).update(ends=timezone.now() - timedelta(hours=1))
    assert list(selectors.late_returns()) == [leave]  # away and overdue

    outcome = scan_after_debounce(resident, guard, main_gate, settings)

    assert outcome.block.payload["status"] == "IN"
    assert outcome.block.payload["late"] is True
    [note] = scan_hooks.notes(outcome.block.payload)
    assert note.level == "warning" and note.message.startswith("LATE")
    leave.refresh_from_db()
    assert leave.late and leave.returned_at is not None
    assert list(selectors.leave_list(show="late")) == [leave]


def test_a_return_in_time_is_not_late(resident, warden, guard, main_gate, settings) -> None:
    no_curfew(settings)
    resident_services.resident_status_set(resident=resident, by=warden, status="IN")
    services.leave_approve(leave=ask(resident, warden, hours_from=-1), by=warden)
    scan(resident, guard, main_gate)

    outcome = scan_after_debounce(resident, guard, main_gate, settings)

    assert outcome.block.payload["late"] is False
    assert [n.message for n in scan_hooks.notes(outcome.block.payload)] == [
        "Back from leave, in time."
    ]
    assert list(selectors.late_returns()) == []


def scan_after_debounce(resident, guard, gate, settings):
    settings.SCAN_DEBOUNCE_SECONDS = 0
    return scan(resident, guard, gate)


def test_an_exit_after_curfew_without_leave_is_flagged(
    resident, warden, guard, main_gate, settings
) -> None:
    curfew_now(settings)
    resident_services.resident_status_set(resident=resident, by=warden, status="IN")

    outcome = scan(resident, guard, main_gate)

    assert outcome.block.payload["curfew_breach"] is True
    [note] = scan_hooks.notes(outcome.block.payload)
    assert note.level == "warning" and "After curfew" in note.message


def test_a_requested_but_unapproved_leave_does_not_cover_an_exit(
    resident, warden, guard, main_gate, settings
) -> None:
    curfew_now(settings)
    resident_services.resident_status_set(resident=resident, by=warden, status="IN")
    ask(resident, warden, hours_from=-1)

    outcome = scan(resident, guard, main_gate)

    assert "leave_id" not in outcome.block.payload
    assert outcome.block.payload["curfew_breach"] is True


def test_an_exit_without_leave_before_curfew_says_nothing(
    resident, warden, guard, main_gate, settings
) -> None:
    no_curfew(settings)
    resident_services.resident_status_set(resident=resident, by=warden, status="IN")

    outcome = scan(resident, guard, main_gate)

    assert scan_hooks.notes(outcome.block.payload) == []
    assert not {"leave_id", "late", "curfew_breach"} & set(outcome.block.payload)


def test_the_status_replay_still_verifies_with_leave_on_scans(
    resident, warden, guard, main_gate, settings
) -> None:
    no_curfew(settings)
    resident_services.resident_status_set(resident=resident, by=warden, status="IN")
    services.leave_approve(leave=ask(resident, warden, hours_from=-1), by=warden)
    scan(resident, guard, main_gate)
    scan_after_debounce(resident, guard, main_gate, settings)

    call_command("verify_chain")


# Found in review of the first version.


def test_a_return_after_staff_marked_the_resident_out_during_leave_is_late(
    resident, warden, guard, main_gate, settings
) -> None:
    """Marked out by a warden while the leave ran (no scan): the return still ends it."""
    no_curfew(settings)
    leave = services.leave_approve(leave=ask(resident, warden, hours_from=-1), by=warden)
    resident_services.resident_status_set(resident=resident, by=warden, status="OUT")
    # An hour ago, and the leave ended five minutes ago.
    Resident.objects.filter(pk=resident.pk).update(
        status_changed_at=timezone.now() - timedelta(hours=1)
    )
    Leave.objects.filter(pk=leave.pk).update(ends=timezone.now() - timedelta(minutes=5))

    outcome = scan(resident, guard, main_gate)

    assert outcome.block.payload["status"] == "IN"
    assert outcome.block.payload["late"] is True
    leave.refresh_from_db()
    assert leave.left_at is not None and leave.returned_at is not None


def test_a_leave_closed_by_staff_marking_in_never_makes_a_later_return_late(
    resident, warden, guard, main_gate, settings
) -> None:
    no_curfew(settings)
    settings.SCAN_DEBOUNCE_SECONDS = 0
    resident_services.resident_status_set(resident=resident, by=warden, status="IN")
    leave = services.leave_approve(leave=ask(resident, warden, hours_from=-1), by=warden)
    scan(resident, guard, main_gate)  # out on leave
    resident_services.resident_status_set(resident=resident, by=warden, status="IN")  # back
    Leave.objects.filter(pk=leave.pk).update(ends=timezone.now() - timedelta(minutes=5))

    scan(resident, guard, main_gate)  # an ordinary exit, weeks later as it were
    outcome = scan(resident, guard, main_gate)  # and return

    assert "late" not in outcome.block.payload
    assert scan_hooks.notes(outcome.block.payload) == []
    leave.refresh_from_db()
    assert leave.returned_at is not None


def test_a_short_trip_out_before_the_leave_does_not_use_it_up(
    resident, warden, guard, main_gate, settings
) -> None:
    no_curfew(settings)
    settings.SCAN_DEBOUNCE_SECONDS = 0
    resident_services.resident_status_set(resident=resident, by=warden, status="IN")
    leave = services.leave_approve(leave=ask(resident, warden, hours_from=2), by=warden)
    first = scan(resident, guard, main_gate)  # out for a coffee, within EARLY_EXIT
    back = scan(resident, guard, main_gate)

    leave.refresh_from_db()
    assert first.block.payload["leave_id"] == str(leave.pk)
    assert "leave_id" not in back.block.payload
    assert leave.left_at is None and leave.returned_at is None
    assert scan(resident, guard, main_gate).block.payload["leave_id"] == str(leave.pk)


def test_a_moved_out_resident_s_leave_cannot_be_approved(resident, warden) -> None:
    leave = ask(resident, warden)
    resident_services.resident_deactivate(resident=resident, by=warden)

    with pytest.raises(LeaveError) as caught:
        services.leave_approve(leave=leave, by=warden)

    assert caught.value.code == "inactive"


def test_requests_waiting_for_a_decision_are_capped(resident, warden) -> None:
    for day in range(services.PENDING_MAX):
        ask(resident, None, hours_from=1 + 48 * day, hours=24)

    with pytest.raises(LeaveError) as caught:
        ask(resident, None, hours_from=1 + 48 * 10, hours=24)

    assert caught.value.code == "too_many_pending"


def test_a_leave_more_than_half_a_year_ahead_is_refused(resident, warden) -> None:
    with pytest.raises(LeaveError) as caught:
        ask(resident, warden, hours_from=24 * 200, hours=24)

    assert "at most 180 days ahead" in caught.value.message
