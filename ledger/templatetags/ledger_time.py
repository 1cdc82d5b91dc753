"""Block timestamps for people: stored and hashed as RFC 3339 UTC text, shown in the site's
time zone (TIME_ZONE), with the zone named."""

from datetime import datetime

from django import template
from django.utils import formats, timezone

register = template.Library()

WHEN = "Y-m-d H:i:s T"  # 2026-11-24 02:37:08 GMT
CLOCK = "H:i:s T"


@register.filter
def local_time(timestamp: str | datetime | None, form: str = "when") -> str:
    """``timestamp`` (a block's, or an aware datetime) in the site's time zone: ``"when"``
    (date and time) or ``"clock"`` (the time of day, with the date unless it is today); the
    text as stored if it does not parse, "—" for none."""
    if timestamp is None:
        return "—"
    try:
        moment = timezone.localtime(
            timestamp if isinstance(timestamp, datetime) else datetime.fromisoformat(timestamp)
        )
    except (TypeError, ValueError):
        return str(timestamp)
    # "clock" is for lists of recent events: an event from another day still shows its date.
    today = form == "clock" and moment.date() == timezone.localdate()
    return formats.date_format(moment, CLOCK if today else WHEN)
