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

DUPLICATE_EMAIL = "Another resident already has this email address."
IMPORT_BYTES_MAX = 1024 * 1024  # a spreadsheet of residents (residents.imports)
KEPT = {"photo_upload": ("photo_kept", "kept.jpg"), "voice_upload": ("voice_kept", "kept.wav")}


class FilesInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class FilesField(forms.FileField):
    """Up to ``most`` files from one input (none: an empty list)."""

    def __init__(self, *, most: int, accept: str, **kwargs: Any) -> None:
        self.most = most
        attrs = {"accept": accept, "multiple": True, "data-max": most}
        super().__init__(widget=FilesInput(attrs=attrs), **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = [item for item in (data if isinstance(data, list | tuple) else [data]) if item]
        if len(files) > self.most:
            raise forms.ValidationError(
                f"Choose at most {self.most} files; you chose {len(files)}.", code="too_many"
            )
        return [super(FilesField, self).clean(item, initial) for item in files]


class ResidentForm(forms.ModelForm):
    photo_upload = FilesField(
        label="Photos",
        required=False,
        most=services.FACE_SAMPLES_MAX,
        accept="image/jpeg,image/png,image/webp",
        help_text=f"1 to {services.FACE_SAMPLES_MAX} photos of the face (JPEG, PNG or WebP, up "
        "to 10 MB each), or take them with the camera: three, in different light, make the "
        "gate recognise the resident more surely. The first is the one shown at the gate.",
    )
    voice_upload = FilesField(
        label="Voice recordings",
        required=False,
        most=services.VOICE_SAMPLES_MAX,
        accept="audio/*",
        help_text=f"1 to {services.VOICE_SAMPLES_MAX} recordings of up to 30 seconds each: "
        "recorded on this page, or webm, ogg, m4a, mp3, wav.",
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

    def clean_photo_upload(self) -> list[uploads.Photo]:
        self._restore("photo_upload")
        faces = ("no_face", "several_faces") if self.instance._state.adding else ()
        hint = " A resident can also be registered without a photo."
        return self._normalised("photo_upload", uploads.photo_enrol, {code: hint for code in faces})

    def clean_email(self) -> str:
        email = self.cleaned_data.get("email", "")
        if email and selectors.email_taken(email, exclude=self.instance.pk):
            raise forms.ValidationError(DUPLICATE_EMAIL, code="duplicate_email")
        return email

    def clean(self) -> dict[str, Any]:
        """A photo of another resident's face (active, or moved out) waits for the warden's
        confirmation; the service refuses it too, so a form that skips this still can't."""
        cleaned = super().clean() or {}
        unconfirmed = not cleaned.get("same_face_confirmed")
        for photo in cleaned.get("photo_upload") or []:
            twin = unconfirmed and selectors.face_lookalike(photo.face, exclude=self.instance.pk)
            if twin:
                self.refused(services.lookalike_refusal(twin))
                break
        return cleaned

    def refused(self, refusal: ResidentError) -> None:
        """Show a service's refusal on the field it concerns, keeping the photo."""
        field = {
            "duplicate_email": "email",
            "duplicate_face": "photo_upload",
            "different_faces": "photo_upload",
            "different_voices": "voice_upload",
        }.get(refusal.code)
        if refusal.code == "duplicate_face":
            self.twin = refusal.resident
        self.keep_uploads()  # first: an error on the photo field drops its cleaned value
        self.add_error(field, forms.ValidationError(str(refusal), code=refusal.code))

    def keep_uploads(self) -> None:
        """Carry a photo and voice sample that passed their checks over to the form shown
        again."""
        cleaned = getattr(self, "cleaned_data", {})
        photos, voices = cleaned.get("photo_upload"), cleaned.get("voice_upload")
        data = QueryDict(mutable=True)
        data.update(self.data)
        if photos:
            data["photo_kept"] = ",".join(_base64(photo.jpeg) for photo in photos)
        if voices:
            data["voice_kept"] = ",".join(_base64(voice.wav) for voice in voices)
        self.data = data

    def clean_voice_upload(self) -> list[uploads.Voice]:
        self._restore("voice_upload")
        return self._normalised("voice_upload", uploads.voice_enrol)

    def _restore(self, field: str) -> None:
        """Without new uploads, the ones kept from the form's last showing, if any."""
        kept_field, name = KEPT[field]
        if self.cleaned_data.get(field) or not self.data.get(kept_field):
            return
        try:
            kept = [
                base64.b64decode(item, validate=True) for item in self.data[kept_field].split(",")
            ]
        except (binascii.Error, ValueError):
            raise forms.ValidationError("Choose the files again.", code="upload") from None
        limit = self.fields[field].most  # type: ignore[attr-defined]
        self.cleaned_data[field] = [SimpleUploadedFile(name, item) for item in kept[:limit]]

    def _normalised(
        self, field: str, normalise: Any, hints: dict[str, str] | None = None
    ) -> list[Any]:
        """Each file of ``field`` through ``normalise``; the first refused is the field's
        error, with the ``hints`` for its code added."""
        files = self.cleaned_data.get(field) or []
        several = len(files) > 1
        checked = []
        for number, upload in enumerate(files, start=1):
            try:
                checked.append(normalise(upload))
            except uploads.UploadError as exc:
                which = f"{upload.name or 'File'} ({number} of {len(files)}): " if several else ""
                hint = (hints or {}).get(exc.code, "")
                raise forms.ValidationError(f"{which}{exc}{hint}", code="upload") from exc
        return checked

    def service_arguments(self) -> dict[str, Any]:
        """What resident_register / resident_update take from this form."""
        data = {field: self.cleaned_data[field] for field in EDITABLE_FIELDS}
        data["photos"] = self.cleaned_data.get("photo_upload") or []
        data["voices"] = self.cleaned_data.get("voice_upload") or []
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
        choices=[("", "In or out"), *Resident.Status.choices, (selectors.NO_STATUS, "No scan yet")],
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


class MoveOutManyForm(DeactivateForm):
    checked = forms.BooleanField(
        label="I have checked the list: every resident on it has moved out",
    )
    count = forms.IntegerField(widget=forms.HiddenInput)  # the list the warden saw


class SampleForm(forms.Form):
    """One more photo or voice recording for a resident's enrolment (the resident page)."""

    photo = forms.FileField(required=False)
    voice = forms.FileField(required=False)
    same_face_confirmed = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        photo, voice = cleaned.get("photo"), cleaned.get("voice")
        if not photo and not voice:
            raise forms.ValidationError("Choose or take a photo, or record the voice, first.")
        if photo and voice:
            raise forms.ValidationError("Add a photo or a voice recording, one at a time.")
        try:
            if photo:
                cleaned["photo"] = uploads.photo_enrol(photo)
            if voice:
                cleaned["voice"] = uploads.voice_enrol(voice)
        except uploads.UploadError as exc:
            raise forms.ValidationError(str(exc), code=exc.code) from exc
        return cleaned


class ImportForm(forms.Form):
    """A spreadsheet of residents: chosen, or carried over from its preview (base64) to be
    imported. ``cleaned_data["content"]`` is the file's bytes."""

    file = forms.FileField(
        label="CSV or XLSX file",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
        help_text=f"Up to {IMPORT_BYTES_MAX // 1024} KB. The first row names the columns.",
    )
    content = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload = cleaned.get("file")
        if upload:
            cleaned["content"] = upload.read(IMPORT_BYTES_MAX + 1)
        elif cleaned.get("content"):
            try:
                cleaned["content"] = base64.b64decode(cleaned["content"], validate=True)
            except (binascii.Error, ValueError):
                raise forms.ValidationError("Choose the file again.", code="upload") from None
        else:
            raise forms.ValidationError("Choose a CSV or XLSX file first.", code="required")
        if len(cleaned["content"]) > IMPORT_BYTES_MAX:
            raise forms.ValidationError(
                f"The file is over {IMPORT_BYTES_MAX // 1024} KB: split it.", code="too_big"
            )
        return cleaned

    def carried(self) -> str:
        """The file, for the preview's form that imports it."""
        return _base64(self.cleaned_data["content"])


def _base64(content: bytes) -> str:
    return base64.b64encode(content).decode("ascii")
