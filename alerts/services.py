"""The only code that writes alerts: enqueue one inside the transaction of its event, and
send the pending ones (cron: `manage.py send_alerts`).

Sending never blocks a scan: the scan only inserts a row. A sender claims a row with a
conditional UPDATE (whoever changes it from unclaimed sends it; two senders never both do),
sends, then marks it sent. A failure to send unclaims it with a later send_after (1, 2, 4 …
minutes) up to MAX_ATTEMPTS. A sender that dies between claiming and marking leaves the row
claimed and unsent: it is reported (alerts_unconfirmed), never sent again, because the mail
may have left: "never twice" is kept over "at least once".
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from alerts.models import Alert

MAX_ATTEMPTS = 8
UNCONFIRMED_AFTER = timedelta(minutes=10)


def alert_enqueue(*, key: str, to: list[str], subject: str, body: str) -> Alert | None:
    """An alert to send once this transaction commits (nothing if it rolls back, or if an
    alert with ``key`` exists already, or if there is nobody to send it to)."""
    recipients = sorted({address.strip() for address in to if address and address.strip()})
    if not recipients:
        return None
    try:
        with transaction.atomic():  # a savepoint: a duplicate key leaves the caller's work
            return Alert.objects.create(
                key=key[:200],
                to=",".join(recipients),
                subject=subject[:200],
                body=body,
                send_after=timezone.now(),
            )
    except IntegrityError:
        return None


def alert_exists(key: str) -> bool:
    """Whether an alert for ``key`` was written already (sent or waiting)."""
    return Alert.objects.filter(key=key[:200]).exists()


@dataclass
class SendReport:
    sent: list[Alert] = field(default_factory=list)
    failed: list[Alert] = field(default_factory=list)
    unconfirmed: list[Alert] = field(default_factory=list)


def alerts_send(
    *, now: datetime | None = None, limit: int = 100, dry_run: bool = False
) -> SendReport:
    """Send up to ``limit`` pending alerts (``dry_run``: list them, send and mark nothing)."""
    now = now or timezone.now()
    report = SendReport(unconfirmed=list(alerts_unconfirmed(now)))
    pending = Alert.objects.filter(
        sent_at__isnull=True, claimed_at__isnull=True, send_after__lte=now,
        attempts__lt=MAX_ATTEMPTS,
    ).order_by("send_after", "pk")[:limit]  # fmt: skip
    for alert in pending:
        if dry_run:
            report.sent.append(alert)
            continue
        claimed = Alert.objects.filter(
            pk=alert.pk, claimed_at__isnull=True, sent_at__isnull=True
        ).update(claimed_at=timezone.now())
        if not claimed:
            continue  # another sender has it
        try:
            send_mail(
                alert.subject, alert.body, settings.SERVER_EMAIL, alert.recipients,
                fail_silently=False,
            )  # fmt: skip
        except Exception as exc:  # any transport failure: try again later
            attempts = alert.attempts + 1
            Alert.objects.filter(pk=alert.pk).update(
                claimed_at=None,
                attempts=attempts,
                send_after=timezone.now() + timedelta(minutes=2 ** (attempts - 1)),
                last_error=f"{type(exc).__name__}: {exc}"[:500],
            )
            alert.attempts = attempts
            report.failed.append(alert)
            continue
        Alert.objects.filter(pk=alert.pk).update(sent_at=timezone.now())
        report.sent.append(alert)
    return report


def alerts_unconfirmed(now: datetime | None = None) -> QuerySet[Alert]:
    """Claimed more than UNCONFIRMED_AFTER ago and never marked sent: the sender died while
    sending. Not sent again (it may have left); someone should look."""
    now = now or timezone.now()
    return Alert.objects.filter(
        sent_at__isnull=True, claimed_at__lt=now - UNCONFIRMED_AFTER
    ).order_by("claimed_at")
