"""The outbox: emails written in the same transaction as what they tell of, sent after it by
`manage.py send_alerts` (cron). An alert exists only if its event committed; its key makes a
second one for the same event impossible; a claimed one is never sent again."""

from django.db import models
from django.db.models import Q


class Alert(models.Model):
    # What it is about, once: "late:<leave id>", "curfew:<resident id>:<night>", ...
    key = models.CharField(max_length=200, unique=True)
    to = models.TextField(help_text="Comma-separated addresses.")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    send_after = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    # Claimed by a sender just before sending; sent when the mail server took it.
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(
                fields=["send_after"],
                condition=Q(sent_at__isnull=True, claimed_at__isnull=True),
                name="alerts_pending_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to}"

    @property
    def recipients(self) -> list[str]:
        return [address for address in self.to.split(",") if address]
