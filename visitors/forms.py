from typing import Any

from django import forms

from residents import uploads
from residents.models import Resident
from visitors.services import MAX_HOURS


class VisitorForm(forms.Form):
    name = forms.CharField(max_length=120)
    phone = forms.CharField(max_length=24)
    host = forms.ModelChoiceField(
        queryset=Resident.objects.filter(is_active=True).only("id", "name", "room"),
        label="Visiting",
        help_text="The resident they came to see.",
    )
    hours = forms.FloatField(
        min_value=0.25, max_value=MAX_HOURS, initial=2, label="Expected stay (hours)"
    )
    photo = forms.FileField(
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "user"}),
        help_text="On a phone this opens the camera. Deleted after the retention period.",
    )

    def clean_photo(self) -> uploads.Photo | None:
        upload = self.cleaned_data.get("photo")
        if not upload:
            return None
        try:
            return uploads.photo_normalise(upload)
        except uploads.UploadError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def service_arguments(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[name] for name in ("name", "phone", "host", "hours", "photo")
        }
