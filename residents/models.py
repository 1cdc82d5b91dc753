"""Residents: who lives here, how to reach them, and whether they are in."""

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from residents import search
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
    guardian_email = models.EmailField(
        blank=True, help_text="Told by email of a late return or an exit after curfew."
    )
    photo = models.FileField(upload_to="photos/", blank=True)
    voice_sample = models.FileField(upload_to="voices/", blank=True)
    # None until the first scan (or staff set it): nobody is "out" who never came in.
    status = models.CharField(  # noqa: DJ001 (None is "not known yet", not an empty status)
        max_length=3, choices=Status.choices, null=True, blank=True
    )
    is_active = models.BooleanField("active", default=True)
    moved_out_on = models.DateField(null=True, blank=True)
    pass_version = models.PositiveIntegerField(default=1)
    last_scan_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the status last changed, by a scan or by staff: "out since" on the curfew list.
    status_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
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
    # Derived in save() from name, room, email and phone (residents.search): what a search
    # matches, folded, and the keys that sort names and rooms naturally.
    search_text = models.TextField(blank=True, editable=False)
    phone_digits = models.CharField(max_length=24, blank=True, editable=False)
    name_sort = models.CharField(max_length=search.SORT_KEY_LENGTH, blank=True, editable=False)
    room_sort = models.CharField(max_length=search.SORT_KEY_LENGTH, blank=True, editable=False)

    EMBEDDINGS = ("face_embedding", "voice_embedding")  # large; most reads defer them
    SEARCHED = frozenset({"name", "room", "email", "phone"})
    DERIVED = ("search_text", "phone_digits", "name_sort", "room_sort")

    class Meta:
        ordering = ["name_sort", "room_sort"]
        permissions = [
            ("deactivate_resident", "Can record that a resident moved out"),
            ("reissue_pass", "Can reissue a resident's QR pass"),
            ("record_scan", "Can record gate scans"),
            ("export_data", "Can export residents and ledger events"),
        ]
        indexes = [
            models.Index(fields=["created_at"], name="residents_created_idx"),
            models.Index(fields=["name_sort", "room_sort"], name="residents_name_sort_idx"),
            models.Index(fields=["room_sort", "name_sort"], name="residents_room_sort_idx"),
            models.Index(
                fields=["floor", "room_sort", "name_sort"], name="residents_floor_sort_idx"
            ),
            models.Index(
                fields=["is_active", "status", "name_sort"],
                name="residents_active_sort_idx",
            ),
            # On PostgreSQL, trigram GIN indexes on search_text and phone_digits (migration
            # 0012: raw SQL, as pg_trgm may be unavailable).
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(name=""), name="residents_name_present"),
            models.CheckConstraint(condition=~Q(room=""), name="residents_room_present"),
            models.CheckConstraint(
                condition=Q(status__in=["IN", "OUT"]) | Q(status__isnull=True),
                name="residents_status_valid",
            ),
            models.UniqueConstraint(
                Lower("email"),
                condition=~Q(email=""),
                name="residents_email_unique",
                violation_error_code="duplicate_email",
                violation_error_message="Another resident already has this email address.",
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

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Saves the row with its derived columns up to date (like auto_now: this row's own
        columns; nothing else is written). Saving any of name, room, email or phone by
        ``update_fields`` saves the derived columns with them; a save of other fields (a
        scan's status) derives nothing."""
        update_fields = kwargs.get("update_fields")
        if update_fields is None:
            self.derive()
        elif self.SEARCHED.intersection(update_fields):
            self.derive()
            kwargs["update_fields"] = [*update_fields, *self.DERIVED]
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """Dates a person could have moved in on: not before 1900, not years ahead."""
        latest = timezone.localdate() + timedelta(days=2 * 366)
        if self.move_in_date and not date(1900, 1, 1) <= self.move_in_date <= latest:
            raise ValidationError(
                {"move_in_date": f"Enter a move-in date between 1900-01-01 and {latest}."}
            )

    def derive(self) -> None:
        """Brings the derived search and sort columns up to date with the details. save()
        calls it; code that bypasses save() (bulk_create) must call it first."""
        self.search_text = search.search_text(name=self.name, room=self.room, email=self.email)
        self.phone_digits = search.digits(self.phone)
        self.name_sort = search.sort_key(self.name)
        self.room_sort = search.sort_key(self.room)

    def seconds_since_scan(self, now: datetime, *, within: timedelta) -> int | None:
        """Whole seconds since this resident's last scan, if it was less than ``within``
        ago (a repeat to ignore); None otherwise."""
        if self.last_scan_at is None or now - self.last_scan_at >= within:
            return None
        return max(0, int((now - self.last_scan_at).total_seconds()))


class Sample(models.Model):
    """One enrolment photo or voice recording of a resident, with its embedding. The
    resident's face_embedding (voice_embedding) is the centre of their samples made with the
    current model: what the gate compares a scan with. The registration photo (voice
    sample) is also the resident's photo (voice_sample): the same file, named by both."""

    class Kind(models.TextChoices):
        FACE = "face", "Photo"
        VOICE = "voice", "Voice recording"

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="samples")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    file = models.FileField(upload_to="samples/")
    embedding = models.BinaryField()
    model = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["resident", "kind", "created_at"], name="residents_sample_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["face", "voice"]), name="residents_sample_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.resident_id}"


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

    class Liveness(models.TextChoices):
        SITE = "", "As the site (FACE_LIVENESS)"
        ON = "on", "Asked: the resident turns their head"
        OFF = "off", "Off: one still is enough"

    face_liveness = models.CharField(
        "face scans: live person check",
        max_length=3,
        choices=Liveness.choices,
        default=Liveness.SITE,
        blank=True,
        help_text="Whether a face scan here asks the resident to turn their head, so that a "
        "photo held up to the camera cannot pass.",
    )
    is_default = models.BooleanField(
        "default",
        default=False,
        help_text="The gate an API client records at when it names none (at most one). Devices "
        "at the gate always ask which gate they stand at.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="residents_one_default_gate",
                violation_error_message="Another gate is already the default.",
            ),
            models.CheckConstraint(
                condition=Q(mode__in=["toggle", "entry", "exit"]), name="residents_gate_mode_valid"
            ),
            models.CheckConstraint(
                condition=Q(face_liveness__in=["", "on", "off"]),
                name="residents_gate_face_liveness_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def asks_liveness(self) -> bool:
        """Whether a face scan here must show a live person (a head that turns)."""
        if self.face_liveness == Gate.Liveness.SITE:
            return bool(settings.FACE_LIVENESS)
        return self.face_liveness != Gate.Liveness.OFF  # anything else asks: fail closed

    def status_after(self, resident: Resident) -> str:
        """The status a scan here gives ``resident``: an entry-only gate IN, an exit-only gate
        OUT, and one that does both the other one (IN for a first scan). An entry-only gate
        refuses someone already IN, an exit-only gate someone already OUT (anti-passback)."""
        inside, outside = Resident.Status.IN, Resident.Status.OUT
        if self.mode == Gate.Mode.ENTRY:
            if resident.status == inside:
                raise self._passback(resident, "in", " They must leave through an exit first.")
            return inside
        if self.mode == Gate.Mode.EXIT:
            if resident.status == outside:
                raise self._passback(resident, "out", "")
            return outside
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
    """The client's id for one scan, so a retried request returns the first result: the
    scan's block, or the denied attempt's (whose resident may be unknown)."""

    scan_id = models.UUIDField(unique=True)
    resident = models.ForeignKey(
        Resident, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    block_index = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.scan_id)
