from typing import Any

from django import forms

TYPES = [
    ("", "Any event"),
    ("scan", "Scans"),
    ("register", "Registrations"),
    ("update", "Edits"),
    ("deactivate", "Move-outs"),
    ("pass_reissue", "Pass reissues"),
    ("genesis", "Genesis"),
]
MODES = [("", "Any mode"), ("qr", "QR"), ("manual", "Manual"), ("face", "Face"), ("voice", "Voice")]


class LedgerFilterForm(forms.Form):
    resident = forms.UUIDField(required=False, label="Resident id")
    type = forms.ChoiceField(required=False, choices=TYPES)
    mode = forms.ChoiceField(required=False, choices=MODES)
    gate = forms.SlugField(required=False, max_length=40)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def selector_arguments(self) -> dict[str, Any]:
        self.is_valid()  # a bad filter is dropped; the valid ones still apply
        data = getattr(self, "cleaned_data", {})
        return {
            "resident": str(data["resident"]) if data.get("resident") else "",
            "kind": data.get("type") or "",
            "mode": data.get("mode") or "",
            "gate": data.get("gate") or "",
            "since": data.get("since"),
            "until": data.get("until"),
        }
