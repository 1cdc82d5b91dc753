"""Send the alerts waiting in the outbox (cron, every minute)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alerts.services import MAX_ATTEMPTS, alerts_send


class Command(BaseCommand):
    help = (
        "Send pending alert emails (late returns, curfew breaches, denied attempts) once "
        "each; a failed one is tried again later. Exits 1 when some could not be sent or a "
        "sender died while sending (so cron mails the output)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=100, help="at most this many a run")
        parser.add_argument("--dry-run", action="store_true", help="list, send nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        report = alerts_send(limit=options["limit"], dry_run=options["dry_run"])
        verb = "Would send" if options["dry_run"] else "Sent"
        for alert in report.sent:
            self.stdout.write(f"{verb}: {alert.subject} → {alert.to}")
        for alert in report.failed:
            given_up = " (given up)" if alert.attempts >= MAX_ATTEMPTS else ""
            self.stderr.write(f"Not sent{given_up}: {alert.subject} → {alert.to}")
        for alert in report.unconfirmed:
            self.stderr.write(
                f"Unconfirmed (the sender stopped while sending; not sent again): "
                f"{alert.subject} → {alert.to}, claimed {alert.claimed_at:%Y-%m-%d %H:%M}"
            )
        self.stdout.write(self.style.SUCCESS(f"{verb} {len(report.sent)} alert(s)."))
        if report.failed or report.unconfirmed:
            raise CommandError(
                f"{len(report.failed)} not sent, {len(report.unconfirmed)} unconfirmed"
            )
