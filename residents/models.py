"""Residents: who lives here, how to reach them, and whether they are in."""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from residents.errors import ScanRefused
from residents.text import validate_multiline, validate_single_line

phone_validator = RegexValidator(
    r"^\+?[0-9][0-9 ().-]{4,22}[0-9]$",
    "Enter a phone number of 6 to 24 digits; spaces, dots, dashes, brackets and a leading + "
    "are allowed.",
)


class Resident(models.Model):
    class Status(models.TextChoices):
        IN = "IN", "In"
        OUT = "OUT", "Out"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120, validators=[validate_single_line])
    room = models.CharField(max_length=20, validators=[validate_single_line])
    floor = models.SmallIntegerField(null=True, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=24, blank=True, validators=[phone_validator])
    address = models.TextField(blank=True, max_length=500, validators=[validate_multiline])
    move_in_date = models.DateField(null=True, blank=True)
    occupation = models.CharField(max_length=120, blank=True, validators=[validate_single_line])
    emergency_contact = models.CharField(
        max_length=200,
        blank=True,
        help_text="Name and phone number of someone to call.",
        validators=[validate_single_line],
    )
    photo = models.FileField(upload_to="photos/", blank=True)
    voice_sample = models.FileField(upload_to="voices/", blank=True)
    status = models.CharField(max_length=3, choices=Status.choices, default=Status.OUT)
    is_active = models.BooleanField("active", default=True)
    moved_out_on = models.DateField(null=True, blank=True)
    pass_version = models.PositiveIntegerField(default=1)
    last_scan_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The photo's face descriptor, and the model that made it (a model change can re-enrol).
    face_embedding = models.BinaryField(null=True, blank=True, editable=False)
    face_model = models.CharField(max_length=40, blank=True, editable=False)
    face_enrolled_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The voice sample's speaker embedding (unit length), and the model that made it.
    voice_embedding = models.BinaryField(null=True, blank=True, editable=False)
    voice_model = models.CharField(max_length=40, blank=True, editable=False)
    voice_enrolled_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    EMBEDDINGS = ("face_embedding", "voice_embedding")  # large; most reads defer them

    class Meta:
        ordering = ["name"]
        permissions = [
            ("deactivate_resident", "Can record that a resident moved out"),
            ("reissue_pass", "Can reissue a resident's QR pass"),
            ("record_scan", "Can record gate scans"),
            ("export_data", "Can export residents and ledger events"),
        ]
        indexes = [
            models.Index(fields=["name"], name="residents_name_idx"),
            models.Index(fields=["room"], name="residents_room_idx"),
            models.Index(fields=["floor", "name"], name="residents_floor_idx"),
            models.Index(
                fields=["is_active", "status", "name"], name="residents_active_status_idx"
            ),
            models.Index(fields=["created_at"], name="residents_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="residents_name_present"),
            models.CheckConstraint(condition=~Q(room=""), name="residents_room_present"),
            models.CheckConstraint(
                condition=Q(status__in=["IN", "OUT"]), name="residents_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(pass_version__gte=1), name="residents_pass_version_positive"
            ),
            models.CheckConstraint(
                condition=Q(is_active=True, moved_out_on__isnull=True) | Q(is_active=False),
                name="residents_moved_out_only_when_inactive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.room})"

    def seconds_since_scan(self, now: datetime, *, within: timedelta) -> int | None:
        """Whole seconds since this resident's last scan, if it was less than ``within``
        ago (a repeat to ignore); None otherwise."""
        if self.last_scan_at is None or now - self.last_scan_at >= within:
            return None
        return max(0, int((now - self.last_scan_at).total_seconds()))


class Gate(models.Model):
    """A place where residents are scanned. Superusers manage gates in the admin."""

    class Mode(models.TextChoices):
        TOGGLE = "toggle", "In and out (each scan toggles)"
        ENTRY = "entry", "Entry only"
        EXIT = "exit", "Exit only"

    slug = models.SlugField(max_length=40, unique=True, help_text="Short id used by scanners.")
    name = models.CharField(max_length=80, validators=[validate_single_line])
    mode = models.CharField(max_length=6, choices=Mode.choices, default=Mode.TOGGLE)
    is_active = models.BooleanField("active", default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(mode__in=["toggle", "entry", "exit"]), name="residents_gate_mode_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def status_after(self, resident: Resident) -> str:
        """The status a scan here gives ``resident``: the other one. An entry-only gate
        refuses someone already IN, an exit-only gate someone already OUT (anti-passback)."""
        inside, outside = Resident.Status.IN, Resident.Status.OUT
        if self.mode == Gate.Mode.ENTRY and resident.status == inside:
            raise self._passback(resident, "in", " They must leave through an exit first.")
        if self.mode == Gate.Mode.EXIT and resident.status == outside:
            raise self._passback(resident, "out", "")
        return outside if resident.status == inside else inside

    def _passback(self, resident: Resident, direction: str, advice: str) -> ScanRefused:
        return ScanRefused(
            "anti_passback",
            f"{resident.name} is already {resident.status}: {self.name} only lets residents "
            f"{direction} (anti-passback).{advice}",
            resident=resident,
        )


class ScanMode(models.TextChoices):
    """How a resident was identified at the gate: the one list of scan modes."""

    QR = "qr", "QR"
    MANUAL = "manual", "Manual"
    FACE = "face", "Face"
    VOICE = "voice", "Voice"


class ScanRequest(models.Model):
    """The client's id for one scan, so a retried request returns the first result."""

    scan_id = models.UUIDField(unique=True)
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="+")
    block_index = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.scan_id)
