"""Leave on the residents' pages, without residents importing leaves: the link on a pass,
and a resident's leave on their page."""

from typing import Any

from django import template
from django.urls import reverse

from leaves import links, selectors
from residents.models import Resident

register = template.Library()


@register.simple_tag(takes_context=True)
def leave_link(context: dict[str, Any], resident: Resident) -> str:
    """The absolute address of ``resident``'s page to ask for leave (their pass's link)."""
    path = reverse("leave-ask", args=[links.leave_link_token(resident)])
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


@register.inclusion_tag("leaves/_resident.html", takes_context=True)
def resident_leaves(context: dict[str, Any], resident: Resident) -> dict[str, Any]:
    return {
        "resident": resident,
        "leaves": selectors.resident_leaves(resident, limit=5),
        "perms": context.get("perms"),
        "request": context.get("request"),
    }
