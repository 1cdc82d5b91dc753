"""Staff forms. Uploads are validated and normalised here, then handed to the services."""

import base64
import binascii
from typing import Any

from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict

from hostel.forms import FilterForm
from residents import selectors, services, uploads
from residents.errors import ResidentError
from residents.models import Resident
from residents.services import DETAIL_FIELDS, EDITABLE_FIELDS

KEPT = {"photo_upload": ("photo_kept", "kept.jpg"), "voice_upload": ("voice_kept", "kept.wav")}


class ResidentForm(forms.ModelForm):
    photo_upload = forms.FileField(
        label="Photo",
        required=False,
        help_text="JPEG, PNG or WebP, up to 10 MB; or take one with the camera.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    voice_upload = forms.FileField(
        label="Voice sample",
        required=False,
        help_text="Up to 30 seconds: a recording from this page, or webm, ogg, m4a, mp3, wav.",
        widget=forms.ClearableFileInput(attrs={"accept": "audio/*"}),
    )

    # A photo or voice sample that passed its checks, carried over when the form comes back
    # with an error, so the warden need not choose it again (checked again like any upload).
    photo_kept = forms.CharField(required=False, widget=forms.HiddenInput)
    voice_kept = forms.CharField(required=False, widget=forms.HiddenInput)
    same_face_confirmed = forms.BooleanField(
        required=False, label="This is someone else: register them with this photo anyway"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.twin: Resident | None = None  # the active resident the photo looks like

    class Meta:
        model = Resident
        fields = ["name", "room", *DETAIL_FIELDS]
        widgets = {
            "move_in_date": forms.DateInput(attrs={"type": "date"}),
            "address": forms.Textarea(attrs={"rows": 2}),
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
            "phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
        }

    def clean_photo_upload(self) -> uploads.Photo | None:
        self._restore("photo_upload")
        return self._normalised("photo_upload", uploads.photo_enrol)

    def clean_email(self) -> str:
        email = self.cleaned_data.get("email", "")
        if email and selectors.email_taken(email, exclude=self.instance.pk):
            raise forms.ValidationError(
                "Another resident already has this email address.", code="duplicate_email"
            )
        return email

    def clean(self) -> dict[str, Any]:
        """A photo of another resident's face (active, or moved out) waits for the warden's
        confirmation; the service refuses it too, so a form that skips this still can't."""
        cleaned = super().clean() or {}
        photo = cleaned.get("photo_upload")
        unconfirmed = not cleaned.get("same_face_confirmed")
        if isinstance(photo, uploads.Photo) and photo.face is not None and unconfirmed:
            twin = selectors.face_lookalike(photo.face, exclude=self.instance.pk)
            if twin is not None:
                self.refused(services.lookalike_refusal(twin))
        return cleaned

    def refused(self, refusal: ResidentError) -> None:
        """Show a service's refusal on the field it concerns, keeping the photo."""
        field = {"duplicate_email": "email", "duplicate_face": "photo_upload"}.get(refusal.code)
        if refusal.code == "duplicate_face":
            self.twin = refusal.resident
        self.keep_uploads()  # first: an error on the photo field drops its cleaned value
        self.add_error(field, forms.ValidationError(str(refusal), code=refusal.code))

    def keep_uploads(self) -> None:
        """Carry a photo and voice sample that passed their checks over to the form shown
        again."""
        cleaned = getattr(self, "cleaned_data", {})
        photo, voice = cleaned.get("photo_upload"), cleaned.get("voice_upload")
        data = QueryDict(mutable=True)
        data.update(self.data)
        if isinstance(photo, uploads.Photo):
            data["photo_kept"] = base64.b64encode(photo.jpeg).decode("ascii")
        if isinstance(voice, uploads.Voice):
            data["voice_kept"] = base64.b64encode(voice.wav).decode("ascii")
        self.data = data

    def clean_voice_upload(self) -> uploads.Voice | None:
        self._restore("voice_upload")
        return self._normalised("voice_upload", uploads.voice_enrol)

    def _restore(self, field: str) -> None:
        """Without a new upload, the one kept from the form's last showing, if any."""
        kept_field, name = KEPT[field]
        if self.cleaned_data.get(field) or not self.data.get(kept_field):
            return
        try:
            kept = base64.b64decode(self.data[kept_field], validate=True)
        except (binascii.Error, ValueError):
            raise forms.ValidationError("Choose the file again.", code="upload") from None
        self.cleaned_data[field] = SimpleUploadedFile(name, kept)

    def _normalised(self, field: str, normalise: Any) -> Any:
        upload = self.cleaned_data.get(field)
        if not upload:
            return None
        try:
            return normalise(upload)
        except uploads.UploadError as exc:
            raise forms.ValidationError(str(exc), code="upload") from exc

    def service_arguments(self) -> dict[str, Any]:
        """What resident_register / resident_update take from this form."""
        data = {field: self.cleaned_data[field] for field in EDITABLE_FIELDS}
        data["photo"] = self.cleaned_data.get("photo_upload")
        data["voice"] = self.cleaned_data.get("voice_upload")
        data["same_face_confirmed"] = self.cleaned_data.get("same_face_confirmed", False)
        return data


ORDER_LABELS = {
    "name": "Name A-Z",
    "-name": "Name Z-A",
    "room": "Room",
    "-room": "Room, last first",
    "floor": "Floor",
    "-floor": "Floor, top first",
    "newest": "Newest",
    "oldest": "Oldest",
    "status": "In/out",
}
assert set(ORDER_LABELS) == set(selectors.ORDERINGS)


class ResidentFilterForm(FilterForm):
    q = forms.CharField(label="Search", required=False, max_length=100)
    status = forms.ChoiceField(
        required=False,
        choices=[("", "In or out"), *Resident.Status.choices],
        widget=forms.Select(attrs={"aria-label": "In or out"}),
    )
    floor = forms.IntegerField(required=False, min_value=-10, max_value=300)
    active = forms.ChoiceField(
        required=False,
        initial="yes",
        choices=[("yes", "Living here"), ("no", "Moved out"), ("all", "Everyone")],
        widget=forms.Select(attrs={"aria-label": "Living here or moved out"}),
    )
    order = forms.ChoiceField(
        required=False,
        choices=[(key, label) for key, label in ORDER_LABELS.items()],
        widget=forms.Select(attrs={"aria-label": "Sort by"}),
    )

    def selector_arguments(self) -> dict[str, Any]:
        self.is_valid()  # a bad filter is dropped; the valid ones still apply
        data = getattr(self, "cleaned_data", {})
        active = {"yes": True, "no": False, "all": None}.get(data.get("active") or "yes")
        return {
            "search": data.get("q") or "",
            "status": data.get("status") or "",
            "floor": data.get("floor"),
            "active": active,
            "order": data.get("order") or "name",
        }


class DeactivateForm(forms.Form):
    moved_out_on = forms.DateField(
        label="Moved out on", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
