"""The ledger's filter form, built from what apps registered (ledger.registry)."""

import uuid
from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from hostel.forms import FilterForm
from ledger import registry


def type_choices() -> list[tuple[str, str]]:
    """Every registered event type, then the ledger's own genesis block."""
    kinds = [(kind.name, kind.label) for kind in registry.event_types()]
    return [*kinds, ("genesis", "Genesis")]


CANDIDATES = 10  # a typed name matching more subjects than this asks for more of it


class LedgerFilterForm(FilterForm):
    since = forms.DateField(
        required=False,
        label="From",
        widget=forms.DateInput(attrs={"type": "date", "aria-label": "From"}),
    )
    until = forms.DateField(
        required=False,
        label="Until",
        widget=forms.DateInput(attrs={"type": "date", "aria-label": "Until"}),
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
        self.candidates: list[tuple[str, str]] = []  # a typed name's matches, to pick from
        hint = subject.hint or f"{subject.label} id"
        self.fields[subject.param] = forms.CharField(
            required=False,
            max_length=100,
            label=subject.label,
            widget=forms.TextInput(
                attrs={"placeholder": hint, "aria-label": hint, "type": "search"}
            ),
        )
        self.order_fields(["type", *event_keys, subject.param, "since", "until"])
        self.fields["type"].label = "Event"
        for field in self.fields.values():  # the filters show no visible labels: name them
            field.widget.attrs.setdefault("aria-label", str(field.label or ""))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        param = registry.subject().param
        if cleaned.get(param):
            try:
                cleaned[param] = self._subject(cleaned[param])
            except ValidationError as error:
                self.add_error(param, error)
        return cleaned

    def _subject(self, text: str) -> str:
        """The subject id a filter names: an id as given, or the one subject a typed name
        finds; several make a list to pick from."""
        subject = registry.subject()
        try:
            return str(uuid.UUID(text))
        except ValueError:
            pass
        if subject.lookup is None:
            raise ValidationError(f"Enter a valid {subject.label.lower()} id.", code="invalid")
        found = subject.lookup(text, CANDIDATES + 1)
        if len(found) == 1:
            return found[0][0]
        if not found:
            raise ValidationError(f"No {subject.label.lower()} matches “{text}”.", code="none")
        self.candidates = found[:CANDIDATES]
        more = " (the first ten shown: type more of it)" if len(found) > CANDIDATES else ""
        raise ValidationError(
            f"Several {subject.label.lower()}s match “{text}”{more}: pick one below.",
            code="several",
        )

    def candidate_queries(self) -> list[tuple[str, str]]:
        """(query string filtering by the candidate, its label) for each subject a typed name
        found, keeping the other filters."""
        param = registry.subject().param
        queries = []
        for subject_id, label in self.candidates:
            assert isinstance(self.data, QueryDict)  # bound to request.GET
            query = self.data.copy()
            query[param] = subject_id
            query.pop("page", None)
            queries.append((query.urlencode(), label))
        return queries

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


def _event_form_field(event_field: registry.EventField) -> forms.Field:
    anything = ("", f"Any {event_field.label.lower()}")
    options = event_field.options
    if options is not None:
        return forms.ChoiceField(
            required=False, label=event_field.label, choices=lambda: [anything, *options()]
        )
    if event_field.choices:
        return forms.ChoiceField(
            required=False, label=event_field.label, choices=[anything, *event_field.choices]
        )
    return forms.SlugField(
        required=False,
        max_length=40,
        label=event_field.label,
        widget=forms.TextInput(
            attrs={"placeholder": event_field.label, "aria-label": event_field.label}
        ),
    )
