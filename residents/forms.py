"""Staff forms. Uploads are validated and normalised here, then handed to the services."""

from typing import Any

from django import forms

from residents import selectors, uploads
from residents.models import Resident
from residents.services import DETAIL_FIELDS, EDITABLE_FIELDS


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
        return self._normalised("photo_upload", uploads.photo_enrol)

    def clean_voice_upload(self) -> uploads.Voice | None:
        return self._normalised("voice_upload", uploads.voice_enrol)

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


class ResidentFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=100)
    status = forms.ChoiceField(
        required=False, choices=[("", "In or out"), *Resident.Status.choices]
    )
    floor = forms.IntegerField(required=False, min_value=-10, max_value=300)
    active = forms.ChoiceField(
        required=False,
        initial="yes",
        choices=[("yes", "Living here"), ("no", "Moved out"), ("all", "Everyone")],
    )
    order = forms.ChoiceField(
        required=False, choices=[(key, label) for key, label in ORDER_LABELS.items()]
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
