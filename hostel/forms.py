"""What the staff site's forms share."""

from typing import Any

from django import forms


class FilterForm(forms.Form):
    """A list's filters, read from the query string: one that cannot apply is dropped, the
    others still apply, and the page says which (dropped(), shown by the list's template)."""

    def dropped(self) -> list[tuple[str, str]]:
        """(the id Django's aria-describedby points at, what to say) for each filter the
        page could not apply, and so ignored."""
        if not self.is_bound or self.is_valid():
            return []
        return [
            (f"{self[name].auto_id}_error", f"{self[name].label}: {_text(errors)}")
            for name, errors in self.errors.items()
            if name in self.fields
        ]


def _text(errors: Any) -> str:
    return " ".join(str(error) for error in errors)
