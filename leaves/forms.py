"""Leave forms: what a warden or a resident fills in, validated before the services see it."""

from typing import Any

from django import forms

from leaves.models import Leave

LOCAL = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class LeaveForm(forms.Form):
    kind = forms.ChoiceField(choices=Leave.Kind.choices)
    starts = forms.DateTimeField(label="From", widget=LOCAL)
    ends = forms.DateTimeField(label="Back by", widget=LOCAL)
    destination = forms.CharField(max_length=200, help_text="Where: a town, an address.")
    reason = forms.CharField(
        max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in ("starts", "ends"):
            moment = cleaned.get(name)
            if moment is not None and moment.year > 9000:  # an offset could overflow it
                self.add_error(name, "Enter a date within the next year.")  # drops it
        starts, ends = cleaned.get("starts"), cleaned.get("ends")
        if starts and ends and ends <= starts:
            self.add_error("ends", "The leave must end after it starts.")
        return cleaned

    def service_arguments(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.fields}


class DecisionForm(forms.Form):
    note = forms.CharField(
        max_length=200,
        required=False,
        help_text="Optional: why, or a condition (the ledger keeps it).",
    )


class LeaveFilterForm(forms.Form):
    show = forms.ChoiceField(
        choices=[
            ("pending", "Waiting for a decision"),
            ("current", "Approved, now or coming"),
            ("late", "Late returns"),
            ("all", "All"),
        ],
        required=False,
    )
