"""The ledger's filter form, built from what apps registered (ledger.registry)."""

from collections.abc import Mapping
from typing import Any

from django import forms

from ledger import registry


def type_choices() -> list[tuple[str, str]]:
    """Every registered event type, then the ledger's own genesis block."""
    kinds = [(kind.name, kind.label) for kind in registry.event_types()]
    return [*kinds, ("genesis", "Genesis")]


class LedgerFilterForm(forms.Form):
    since = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date", "aria-label": "From"})
    )
    until = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date", "aria-label": "Until"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["type"] = forms.ChoiceField(
            required=False, choices=[("", "Any event"), *type_choices()]
        )
        event_keys = []
        for event_field in registry.event_fields():
            event_keys.append(event_field.key)
            self.fields[event_field.key] = _event_form_field(event_field)
        subject = registry.subject()
        label = f"{subject.label} id"
        self.fields[subject.param] = forms.UUIDField(
            required=False,
            label=label,
            widget=forms.TextInput(attrs={"placeholder": label, "aria-label": label}),
        )
        self.order_fields(["type", *event_keys, subject.param, "since", "until"])
        self.fields["type"].label = "Event"
        for field in self.fields.values():  # the filters show no visible labels: name them
            field.widget.attrs.setdefault("aria-label", str(field.label or ""))

    def dropped(self) -> list[tuple[str, str]]:
        """(the id Django's aria-describedby points at, what to say) for each filter the
        page could not apply, and so ignored."""
        if not self.is_bound or self.is_valid():
            return []
        return [
            (f"{self[name].auto_id}_error", f"{self.fields[name].label}: {_text(errors)}")
            for name, errors in self.errors.items()
            if name in self.fields
        ]

    def selector_arguments(self) -> dict[str, Any]:
        self.is_valid()  # a bad filter is dropped; the valid ones still apply
        return filter_arguments(getattr(self, "cleaned_data", {}))


def filter_arguments(data: Mapping[str, Any]) -> dict[str, Any]:
    """ledger_list()'s arguments from validated filter values (this form's, or the API's)."""
    subject = data.get(registry.subject().param)
    return {
        "subject": str(subject) if subject else "",
        "kind": data.get("type") or "",
        "fields": {
            field.key: data[field.key] for field in registry.event_fields() if data.get(field.key)
        },
        "since": data.get("since"),
        "until": data.get("until"),
    }


def _text(errors: Any) -> str:
    return " ".join(str(error) for error in errors)


def _event_form_field(event_field: registry.EventField) -> forms.Field:
    if event_field.choices:
        return forms.ChoiceField(
            required=False,
            label=event_field.label,
            choices=[("", f"Any {event_field.label.lower()}"), *event_field.choices],
        )
    return forms.SlugField(
        required=False,
        max_length=40,
        label=event_field.label,
        widget=forms.TextInput(
            attrs={"placeholder": event_field.label, "aria-label": event_field.label}
        ),
    )
