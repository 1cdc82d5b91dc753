"""Block timestamps for people: stored and hashed as RFC 3339 UTC text, shown in the site's
time zone (TIME_ZONE), with the zone named."""

from datetime import datetime

from django import template
from django.utils import formats, timezone

register = template.Library()

WHEN = "Y-m-d H:i:s T"  # 2026-11-24 02:37:08 GMT
CLOCK = "H:i:s T"


@register.filter
def local_time(timestamp: str, form: str = "when") -> str:
    """``timestamp`` (a block's) in the site's time zone: ``"when"`` (date and time) or
    ``"clock"`` (the time of day); the text as stored if it does not parse."""
    try:
        moment = timezone.localtime(datetime.fromisoformat(timestamp))
    except (TypeError, ValueError):
        return timestamp
    return formats.date_format(moment, CLOCK if form == "clock" else WHEN)
