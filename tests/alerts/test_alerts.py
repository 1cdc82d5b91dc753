"""The outbox: alerts written with their event, sent once by `manage.py send_alerts`, tried
again after a transport failure, never sent twice; and what enqueues them."""

import socket
from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from alerts import services
from alerts.models import Alert
from leaves import services as leave_services
from leaves.models import Leave
from residents import scans
from residents import services as resident_services
from residents.errors import ScanRefused

pytestmark = pytest.mark.django_db


def enqueue(key: str = "k1", to: tuple[str, ...] = ("guardian@example.org",)) -> Alert | None:
    return services.alert_enqueue(key=key, to=list(to), subject="Late", body="Came back late.")


def test_an_alert_is_sent_once(settings) -> None:
    enqueue()

    first = services.alerts_send()
    second = services.alerts_send()

    assert [a.subject for a in first.sent] == ["Late"] and second.sent == []
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["guardian@example.org"]
    assert Alert.objects.get().sent_at is not None


def test_an_alert_of_a_rolled_back_event_never_exists() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue()
        raise RuntimeError("the scan failed")

    assert not Alert.objects.exists()


def test_one_event_enqueues_one_alert_whatever_the_retries() -> None:
    enqueue("late:1")
    with transaction.atomic():  # the caller's own transaction survives the duplicate
        assert enqueue("late:1") is None
        enqueue("late:2")

    assert sorted(Alert.objects.values_list("key", flat=True)) == ["late:1", "late:2"]


def test_nobody_to_tell_means_no_alert() -> None:
    assert enqueue(to=("", "  ")) is None
    assert not Alert.objects.exists()


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_mail_server_that_is_down_means_a_later_try(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = (
        "127.0.0.1",
        unused_port(),
        2,
    )
    enqueue()

    report = services.alerts_send()

    alert = Alert.objects.get()
    assert report.failed and not report.sent
    assert alert.attempts == 1 and alert.claimed_at is None and alert.sent_at is None
    assert "ConnectionRefusedError" in alert.last_error
    assert alert.send_after > timezone.now()  # not again at once
    assert services.alerts_send().failed == []  # waiting
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    later = services.alerts_send(now=timezone.now() + timedelta(minutes=2))
    assert len(later.sent) == 1 and len(mail.outbox) == 1


def test_a_sender_that_died_while_sending_is_reported_not_resent() -> None:
    alert = enqueue()
    assert alert is not None
    Alert.objects.filter(pk=alert.pk).update(claimed_at=timezone.now() - timedelta(hours=1))

    report = services.alerts_send()

    assert report.sent == [] and [a.pk for a in report.unconfirmed] == [alert.pk]
    assert mail.outbox == []
    with pytest.raises(CommandError, match="1 unconfirmed"):
        call_command("send_alerts")


def test_the_command_sends_and_says_so(capsys) -> None:
    enqueue()

    call_command("send_alerts", "--dry-run")
    assert mail.outbox == []
    call_command("send_alerts")

    out = capsys.readouterr().out
    assert "Would send: Late → guardian@example.org" in out
    assert "Sent 1 alert(s)." in out and len(mail.outbox) == 1


def test_a_late_return_tells_the_guardian_once(resident, warden, guard, main_gate, settings):
    settings.CURFEW, settings.SCAN_DEBOUNCE_SECONDS = "", 0
    resident_services.resident_update(
        resident=resident, by=warden, guardian_email="mum@example.org"
    )
    resident_services.resident_status_set(resident=resident, by=warden, status="IN")
    now = timezone.now()
    leave = leave_services.leave_request(
        resident=resident,
        by=warden,
        kind="home",
        starts=now - timedelta(hours=1),
        ends=now + timedelta(days=1),
        destination="Home",
    )
    leave_services.leave_approve(leave=leave, by=warden)
    scans.scan_record(by=guard, gate=main_gate, mode="manual", resident_id=resident.pk)
    Leave.objects.filter(pk=leave.pk).update(ends=timezone.now() - timedelta(minutes=1))

    scans.scan_record(by=guard, gate=main_gate, mode="manual", resident_id=resident.pk)
    services.alerts_send()

    [message] = mail.outbox
    assert message.to == ["mum@example.org"]
    assert message.subject == "Ada Okafor came back late"
    assert "ended at" in message.body


def test_an_exit_after_curfew_tells_the_guardian(resident, warden, guard, main_gate, settings):
    settings.CURFEW = "06:00" if timezone.localtime().hour >= 6 else "23:00"
    resident_services.resident_update(
        resident=resident, by=warden, guardian_email="dad@example.org"
    )
    resident_services.resident_status_set(resident=resident, by=warden, status="IN")

    scans.scan_record(by=guard, gate=main_gate, mode="manual", resident_id=resident.pk)

    alert = Alert.objects.get()
    assert alert.to == "dad@example.org"
    assert alert.subject == "Ada Okafor went out after curfew"


def test_many_denied_attempts_in_an_hour_tell_the_wardens_once(
    warden, guard, main_gate, settings
) -> None:
    settings.DENIED_ALERT_PER_HOUR, settings.SCAN_DEBOUNCE_SECONDS = 2, 0
    warden.email = "warden@example.org"
    warden.save()

    for _ in range(3):
        with pytest.raises(ScanRefused):
            scans.scan_record(by=guard, gate=main_gate, mode="qr", token="not-a-pass")

    alert = Alert.objects.get()
    assert alert.to == "warden@example.org"
    assert alert.subject.startswith("2 denied attempts at the gate in the past hour")
